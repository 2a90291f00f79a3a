"""Kernel mixing of CondConv, eq. (1) of Yang et al., NeurIPS 2019.

``W_b = sum_i r_{b,i} W_i`` for every example ``b`` is one matrix product ``routing (B, E) @ weight (E, -1)``: a single
GEMM over the expert-major weight tensor, no Python loop and no per-expert temporaries. Its backward is two more
GEMMs (``r^T @ dW_b`` for the experts, ``dW_b @ W^T`` for the routing weights), which autograd derives from ``mm``.
"""
from typing import Optional

import torch
from torch import Tensor

from .workspace import borrow_workspace, workspaces_usable


def mixed_kernels_nbytes(routing_weights: Tensor, weight: Tensor) -> int:
    """Size in bytes of the ``B`` mixed kernels."""
    return routing_weights.shape[0] * (weight.numel() // weight.shape[0]) * weight.element_size()


def kernels_fit_workspace(x: Tensor, routing_weights: Tensor, weight: Tensor) -> bool:
    """True when mixed kernels should live in a reused buffer: large, and no autograd graph will keep them (see
    ``workspace``)."""
    recording = torch.is_grad_enabled() and (x.requires_grad or routing_weights.requires_grad or weight.requires_grad)
    return not recording and workspaces_usable(x.device, mixed_kernels_nbytes(routing_weights, weight))


def mix_expert_kernels(routing_weights: Tensor, weight: Tensor, workspace_slot: Optional[str] = None) -> Tensor:
    """Per-example kernels ``(B, out, in // groups, kh, kw)`` from ``routing_weights (B, E)`` and ``weight (E, ...)``.

    The product runs in the weight's physical order, so no copy of the experts is made: a contiguous weight gives
    contiguous kernels, a weight stored channels_last (``model.to(memory_format=torch.channels_last)``, i.e. each
    expert ``(out, in, kh, kw)`` laid out ``(out, kh, kw, in)``) gives channels_last kernels, as a static conv would.
    With ``workspace_slot`` the result is written into that reused buffer (see ``workspace.borrow_workspace``).
    """
    num_experts = weight.shape[0]
    batch = routing_weights.shape[0]
    permutation = None
    if weight.is_contiguous():
        physical = weight
    elif weight.permute(0, 1, 3, 4, 2).is_contiguous():
        physical, permutation = weight.permute(0, 1, 3, 4, 2), (0, 1, 4, 2, 3)
    else:
        physical = weight.contiguous()
    flat = physical.reshape(num_experts, -1)
    if workspace_slot is None:
        mixed = torch.mm(routing_weights, flat)
    else:
        out = borrow_workspace(workspace_slot, (batch, flat.shape[1]), flat.dtype, flat.device)
        mixed = torch.mm(routing_weights, flat, out=out)
    mixed = mixed.view((batch, ) + tuple(physical.shape[1:]))
    return mixed if permutation is None else mixed.permute(permutation)


def mix_expert_biases(routing_weights: Tensor, bias: Optional[Tensor]) -> Optional[Tensor]:
    """Per-example biases ``(B, out)`` from ``routing_weights (B, E)`` and ``bias (E, out)``; ``None`` stays None."""
    if bias is None:
        return None
    return torch.mm(routing_weights, bias)
