"""Shared part of the routing functions: ``GAP(x) · R + b`` (Yang et al., NeurIPS 2019, eq. (2) before the sigmoid).

The routing logits are computed in float32 (float64 for a float64 module) with autocast disabled, so that AMP runs
the convolution in half precision while the few routing MADDs stay accurate.
"""
import torch
import torch.nn as nn
from torch import Tensor

from .validation import check_int


class PooledLinearRouting(nn.Module):
    """Global average pooling, optional dropout on the pooled routing input, then a linear layer to the experts.

    Args:
        in_channels: channels ``C`` of the layer input.
        num_experts: number of experts ``E`` (outputs).
        dropout: dropout probability on the pooled ``(B, C)`` routing input (0 disables it).
        bias: whether the routing linear layer has a bias ``b``.
        detach_input: route on ``x.detach()``: the routing still varies per image, but sends no gradient into the
            features it reads (an ablation: docs/experiments.md, "why the E=1 recipe needs the backbone's per-image
            gains").
    """

    def __init__(self, in_channels: int, num_experts: int, dropout: float = 0.0, bias: bool = True,
                 detach_input: bool = False) -> None:
        super().__init__()
        check_int('in_channels', in_channels)
        check_int('num_experts', num_experts)
        if not isinstance(dropout, (int, float)) or isinstance(dropout, bool) or not 0.0 <= dropout < 1.0:
            raise ValueError(f'dropout must be a float in [0, 1), got dropout={dropout!r}')
        if not isinstance(detach_input, bool):
            raise ValueError(f'detach_input must be True or False, got detach_input={detach_input!r}')
        self.in_channels = in_channels
        self.num_experts = num_experts
        self.detach_input = detach_input
        self.dropout = nn.Dropout(float(dropout)) if dropout > 0 else None
        self.fc = nn.Linear(in_channels, num_experts, bias=bias)

    def init_weights(self) -> None:
        """PyTorch's default ``nn.Linear`` initialisation for ``R`` and ``b``."""
        self.fc.reset_parameters()

    def routing_logits(self, x: Tensor) -> Tensor:
        """``GAP(x) · R + b`` of shape ``(B, E)``; ``x`` is ``(B, C, H, W)`` or an already pooled ``(B, C)``."""
        if x.dim() not in (2, 4) or x.shape[1] != self.in_channels:
            raise ValueError(f'routing input must be (B, {self.in_channels}, H, W) or (B, {self.in_channels}), '
                             f'got x.shape={tuple(x.shape)}')
        if torch.is_autocast_enabled(x.device.type):
            with torch.autocast(device_type=x.device.type, enabled=False):
                return self.routing_logits(x)
        if self.detach_input:
            x = x.detach()
        weight, bias = self.fc.weight, self.fc.bias
        dtype = torch.promote_types(weight.dtype, torch.float32)
        if weight.dtype != dtype:  # a half-precision module: routing still in float32
            weight, bias = weight.to(dtype), None if bias is None else bias.to(dtype)
        pooled = x.mean(dim=(2, 3), dtype=dtype) if x.dim() == 4 else x.to(dtype)
        if self.dropout is not None:
            pooled = self.dropout(pooled)
        return torch.mm(pooled, weight.t()) if bias is None else torch.addmm(bias, pooled, weight.t())

    def extra_repr(self) -> str:
        return f'in_channels={self.in_channels}, num_experts={self.num_experts}' + (
            ', detach_input=True' if self.detach_input else '')
