"""Routing shared by the convolutions of a block (the official code's ``_routing_fn``): compute
``r = σ(GAP(x)·R + b)`` (Yang et al., NeurIPS 2019, Eq. 2) once from the block input ``x``, then hand ``r`` to every
CondConv of the block, each computing ``(r_1·W_1 + … + r_n·W_n) * x`` (Eq. 1)."""
from typing import Callable, Dict, Optional

import torch.nn as nn
import torch.utils.checkpoint as cp
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from torch import Tensor

from condconv_det.layers import CondConv2d


def cond_conv_cfg(num_experts: int, routing_cfg: Optional[Dict] = None) -> Dict:
    """``conv_cfg`` that makes mmcv's ``build_conv_layer`` build a :class:`CondConv2d` with ``num_experts`` experts;
    ``routing_cfg=None`` (default): routing weights supplied by the enclosing block, else its own routing."""
    return dict(type=CondConv2d, num_experts=num_experts, routing_cfg=routing_cfg)


def forward_with_routing(module: nn.Module, x: Tensor, routing_weights: Optional[Tensor]) -> Tensor:
    """Run ``module`` (a CondConv2d, an mmcv ``ConvModule`` or ``DepthwiseSeparableConvModule``, or an
    ``nn.Sequential`` of them, such as a ResNet shortcut or an SSD head tower) on ``x``, handing
    ``routing_weights (B, E)`` to every CondConv2d inside; any other module runs as usual."""
    if isinstance(module, CondConv2d):
        return module(x, routing_weights)
    if isinstance(module, ConvModule):
        for layer in module.order:  # mmcv's ConvModule.forward, with the routing handed to the conv
            if layer == 'conv':
                if module.with_explicit_padding:
                    x = module.padding_layer(x)
                x = forward_with_routing(module.conv, x, routing_weights)
            elif layer == 'norm' and module.with_norm:
                x = module.norm(x)
            elif layer == 'act' and module.with_activation:
                x = module.activate(x)
        return x
    if isinstance(module, DepthwiseSeparableConvModule):
        x = forward_with_routing(module.depthwise_conv, x, routing_weights)
        return forward_with_routing(module.pointwise_conv, x, routing_weights)
    if isinstance(module, nn.Sequential):
        for child in module:
            x = forward_with_routing(child, x, routing_weights)
        return x
    return module(x)


def route_once_then_run(x: Tensor, routing: Optional[nn.Module], body: Callable[[Tensor, Optional[Tensor]], Tensor],
                        with_cp: bool = False) -> Tensor:
    """``body(x, routing(x))`` (``body(x, None)`` for a static block, ``routing=None``), under
    ``torch.utils.checkpoint`` when ``with_cp`` and ``x`` requires grad, as mmdet's blocks do."""

    def _inner_forward(x: Tensor) -> Tensor:
        return body(x, None if routing is None else routing(x))

    if with_cp and x.requires_grad:
        return cp.checkpoint(_inner_forward, x, use_reentrant=False)
    return _inner_forward(x)
