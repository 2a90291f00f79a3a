"""CondConv2d: conditionally parameterized convolution (Yang et al., NeurIPS 2019).

``y_b = sigma((sum_i r_{b,i} W_i) * x_b)`` (eq. 1) with the routing ``r = sigmoid(GAP(x) · R + b)`` (eq. 2). The
``E`` expert kernels live in one parameter ``weight`` of shape ``(E, out, in // groups, kh, kw)``, stored contiguous
(expert-major, so kernel mixing is a single ``(B, E) @ (E, -1)`` matrix product) and the biases in ``bias (E, out)``.
"""
import math
from typing import Callable, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.registry import MODELS
from torch import Tensor
from torch.nn.modules.utils import _pair

from .routing_builder import build_routing
from .strategies import STRATEGIES, ConvGeometry, check_strategy_applicable, conv_output_size
from .strategy_dispatch import select_strategy
from .validation import check_int

_PADDING_MODES = ('zeros', 'reflect', 'replicate', 'circular')
IntOrPair = Union[int, Tuple[int, int]]


def _positive_pair(name: str, value: IntOrPair, allow_zero: bool = False) -> Tuple[int, int]:
    pair = _pair(value)
    low = 0 if allow_zero else 1
    if (len(pair) != 2 or any(isinstance(v, bool) or not isinstance(v, int) for v in pair)
            or any(v < low for v in pair)):
        kind = 'non-negative' if allow_zero else 'positive'
        raise ValueError(f'{name} must be a {kind} int or pair of ints, got {name}={value!r}')
    return pair


def _is_exporting() -> bool:
    """True while tracing for ONNX / TorchScript / ``torch.export``, where the batch must stay symbolic (no
    ``groups = g * B``)."""
    return torch.onnx.is_in_onnx_export() or torch.jit.is_tracing() or torch.compiler.is_exporting()


@MODELS.register_module('CondConv2d')
class CondConv2d(nn.Module):
    """Conditionally parameterized 2-D convolution, a drop-in ``conv_cfg=dict(type='CondConv2d', num_experts=8)``.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, padding_mode:
            as ``nn.Conv2d``.
        num_experts: number of expert kernels ``E`` (1 is allowed: a convolution scaled by its routing weight).
        routing_cfg: config of the routing function (``in_channels -> E``), default the paper's
            ``dict(type='SigmoidRouting')``; ``None`` for no own routing, then ``forward`` needs ``routing_weights``
            (routing shared by a block).
        strategy: ``'auto'`` (see ``strategy_dispatch.select_strategy``) or one of ``strategies.STRATEGIES``.
    """

    transposed = False
    output_padding = (0, 0)

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrPair, stride: IntOrPair = 1,
                 padding: IntOrPair = 0, dilation: IntOrPair = 1, groups: int = 1, bias: bool = True,
                 num_experts: int = 8, routing_cfg: Optional[dict] = dict(type='SigmoidRouting'),
                 strategy: str = 'auto', padding_mode: str = 'zeros') -> None:
        super().__init__()
        for name, value in (('in_channels', in_channels), ('out_channels', out_channels), ('groups', groups),
                            ('num_experts', num_experts)):
            check_int(name, value)
        if in_channels % groups or out_channels % groups:
            raise ValueError(f'in_channels ({in_channels}) and out_channels ({out_channels}) must be divisible by '
                             f'groups, got groups={groups}')
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f'padding_mode must be one of {_PADDING_MODES}, got padding_mode={padding_mode!r}')
        if strategy != 'auto' and strategy not in STRATEGIES:
            raise ValueError(f"strategy must be 'auto' or one of {sorted(STRATEGIES)}, got strategy={strategy!r}")
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _positive_pair('kernel_size', kernel_size)
        self.stride = _positive_pair('stride', stride)
        self.padding = _positive_pair('padding', padding, allow_zero=True)
        self.dilation = _positive_pair('dilation', dilation)
        self.groups = groups
        self.padding_mode = padding_mode
        self.num_experts = num_experts
        self.strategy = strategy
        self.weight = nn.Parameter(
            torch.empty(num_experts, out_channels, in_channels // groups, *self.kernel_size))
        if bias:
            self.bias = nn.Parameter(torch.empty(num_experts, out_channels))
        else:
            self.register_parameter('bias', None)
        self.routing = None if routing_cfg is None else build_routing(routing_cfg, in_channels, num_experts)
        self.init_weights()

    def init_weights(self) -> None:
        """Each expert ~ N(0, sqrt(2 / fan_out)), ``fan_out = out * kh * kw // groups`` (official TF code); bias 0.

        Having this method makes mmcv's ``ConvModule`` skip its kaiming init, whose fan would be wrong for the
        stacked ``(E, out, ...)`` tensor.
        """
        fan_out = self.out_channels * self.kernel_size[0] * self.kernel_size[1] // self.groups
        nn.init.normal_(self.weight, mean=0.0, std=math.sqrt(2.0 / fan_out))
        if self.bias is not None:
            nn.init.zeros_(self.bias)
        if self.routing is not None and hasattr(self.routing, 'init_weights'):
            self.routing.init_weights()

    def _apply(self, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> 'CondConv2d':
        """Convert the expert kernels (and their gradient) as their ``(E, out * in // groups * kh * kw)`` matrix,
        timm's flat layout: device and dtype conversions apply as to any tensor, while ``.to(memory_format=...)``,
        which re-lays out 4-D and 5-D tensors only, keeps them expert-major contiguous, the order ``kernel_mixing``
        multiplies in (the mixed per-example kernels are then contiguous whatever the input's memory format)."""
        shape = self.weight.shape
        self._reshape_experts((shape[0], -1))
        try:
            return super()._apply(fn, recurse)
        finally:
            self._reshape_experts(shape)

    def _reshape_experts(self, shape: Tuple[int, ...]) -> None:
        for tensor in (self.weight, self.weight.grad):
            if tensor is not None:
                tensor.data = tensor.data.reshape(shape)

    def forward(self, x: Tensor, routing_weights: Optional[Tensor] = None) -> Tensor:
        """Convolve ``x (B, in, H, W)``; ``routing_weights (B, E)`` if given, else ``self.routing(x)``."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'x must be (B, {self.in_channels}, H, W), got x.shape={tuple(x.shape)}')
        if routing_weights is None:
            if self.routing is None:
                raise ValueError('routing_weights is None and this CondConv2d has no routing function (routing_cfg='
                                 'None): pass routing_weights of shape (B, num_experts) or set routing_cfg')
            routing_weights = self.routing(x)
        else:
            self._check_routing_weights(routing_weights, x)
        if routing_weights.dtype != self.weight.dtype and not torch.is_autocast_enabled(x.device.type):
            routing_weights = routing_weights.to(self.weight.dtype)
        padding = self.padding
        if self.padding_mode != 'zeros' and (padding[0] or padding[1]):
            x = torch.nn.functional.pad(x, (padding[1], padding[1], padding[0], padding[0]), mode=self.padding_mode)
            padding = (0, 0)
        batch = x.shape[0]
        strategy = self.strategy
        if strategy == 'auto':
            out_h = conv_output_size(x.shape[2], self.kernel_size[0], self.stride[0], padding[0], self.dilation[0])
            out_w = conv_output_size(x.shape[3], self.kernel_size[1], self.stride[1], padding[1], self.dilation[1])
            strategy = select_strategy(batch, self.kernel_size, self.groups, self.in_channels, self.out_channels,
                                       x.device.type, torch.is_grad_enabled(), _is_exporting(), out_h * out_w)
        else:
            check_strategy_applicable(strategy, batch, self.kernel_size)
        geometry = ConvGeometry(self.stride, padding, self.dilation, self.groups)
        return STRATEGIES[strategy](x, routing_weights, self.weight, self.bias, geometry)

    def _check_routing_weights(self, routing_weights: Tensor, x: Tensor) -> None:
        if not isinstance(routing_weights, Tensor):
            raise ValueError(f'routing_weights must be a Tensor, got {type(routing_weights).__name__}')
        if routing_weights.dim() != 2 or routing_weights.shape[1] != self.num_experts:
            raise ValueError(f'routing_weights must be (B, num_experts={self.num_experts}), '
                             f'got routing_weights.shape={tuple(routing_weights.shape)}')
        if routing_weights.shape[0] != x.shape[0]:
            raise ValueError(f'routing_weights batch {routing_weights.shape[0]} != input batch {x.shape[0]} '
                             f'(routing_weights.shape={tuple(routing_weights.shape)}, x.shape={tuple(x.shape)})')
        if routing_weights.device != x.device:
            raise ValueError(f'routing_weights is on {routing_weights.device}, the input on {x.device}')
        if not routing_weights.is_floating_point():
            raise ValueError(
                f'routing_weights must be floating point, got routing_weights.dtype={routing_weights.dtype}')

    def extra_repr(self) -> str:
        text = (f'{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, '
                f'num_experts={self.num_experts}')
        defaults = dict(padding=(0, 0), dilation=(1, 1), groups=1, padding_mode='zeros', strategy='auto')
        text += ''.join(f', {name}={getattr(self, name)!r}' for name, default in defaults.items()
                        if getattr(self, name) != default)
        return text + (', bias=False' if self.bias is None else '')
