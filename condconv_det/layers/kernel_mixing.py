"""Kernel mixing of CondConv, eq. (1) of Yang et al., NeurIPS 2019.

``W_b = sum_i r_{b,i} W_i`` for every example ``b`` is one matrix product ``routing (B, E) @ weight (E, -1)``: a single
GEMM over the expert-major weight tensor, no Python loop and no per-expert temporaries. Its backward is two more
GEMMs (``r^T @ dW_b`` for the experts, ``dW_b @ W^T`` for the routing weights), which autograd derives from ``mm``.
"""
from typing import Optional

import torch
from torch import Tensor


def mix_expert_kernels(routing_weights: Tensor, weight: Tensor) -> Tensor:
    """Per-example kernels ``(B, out, in // groups, kh, kw)`` from ``routing_weights (B, E)`` and ``weight (E, ...)``.

    The product runs in the weight's physical order, so no copy of the experts is made: a contiguous weight gives
    contiguous kernels, a weight stored channels_last (``model.to(memory_format=torch.channels_last)``, i.e. each
    expert ``(out, in, kh, kw)`` laid out ``(out, kh, kw, in)``) gives channels_last kernels, as a static conv would.
    """
    num_experts = weight.shape[0]
    batch = routing_weights.shape[0]
    if not weight.is_contiguous():
        in_last = weight.permute(0, 1, 3, 4, 2)
        if in_last.is_contiguous():
            mixed = torch.mm(routing_weights, in_last.reshape(num_experts, -1))
            return mixed.view((batch, ) + tuple(in_last.shape[1:])).permute(0, 1, 4, 2, 3)
    mixed = torch.mm(routing_weights, weight.reshape(num_experts, -1))
    return mixed.view((batch, ) + tuple(weight.shape[1:]))


def mix_expert_biases(routing_weights: Tensor, bias: Optional[Tensor]) -> Optional[Tensor]:
    """Per-example biases ``(B, out)`` from ``routing_weights (B, E)`` and ``bias (E, out)`` (``None`` passes through)."""
    if bias is None:
        return None
    return torch.mm(routing_weights, bias)
