"""Kernel mixing of CondConv, eq. (1) of Yang et al., NeurIPS 2019.

``W_b = sum_i r_{b,i} W_i`` for every example ``b`` is one matrix product ``routing (B, E) @ weight (E, -1)``: a single
GEMM over the expert-major weight tensor, no Python loop and no per-expert temporaries. Its backward is two more
GEMMs (``r^T @ dW_b`` for the experts, ``dW_b @ W^T`` for the routing weights), which autograd derives from ``mm``.
"""
from typing import Optional

import torch
from torch import Tensor


def mix_expert_kernels(routing_weights: Tensor, weight: Tensor) -> Tensor:
    """Per-example kernels ``(B, out, in // groups, kh, kw)`` from ``routing_weights (B, E)`` and ``weight (E, out,
    in // groups, kh, kw)``, contiguous. ``CondConv2d`` keeps its experts contiguous (see ``CondConv2d._apply``), so
    the product reads them as they are stored."""
    mixed = torch.mm(routing_weights, weight.reshape(weight.shape[0], -1))
    return mixed.view((routing_weights.shape[0], ) + tuple(weight.shape[1:]))


def mix_expert_biases(routing_weights: Tensor, bias: Optional[Tensor]) -> Optional[Tensor]:
    """Per-example biases ``(B, out)`` from ``routing_weights (B, E)`` and ``bias (E, out)``; ``None`` stays None."""
    if bias is None:
        return None
    return torch.mm(routing_weights, bias)
