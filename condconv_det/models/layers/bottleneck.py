"""CondConv ResNet bottleneck with block-shared routing."""
from typing import Dict, Optional

import torch.nn as nn
import torch.utils.checkpoint as cp
from mmdet.models.backbones.resnet import Bottleneck
from torch import Tensor

from condconv_det.layers import CondConv2d
from .routing import build_block_routing


def cond_conv_cfg(num_experts: int) -> Dict:
    """``conv_cfg`` that makes mmcv's ``build_conv_layer`` build a CondConv with externally supplied routing."""
    return dict(type=CondConv2d, num_experts=num_experts, routing_cfg=None)


def forward_with_routing(module: nn.Module, x: Tensor, routing_weights: Optional[Tensor]) -> Tensor:
    """Run a conv or an ``nn.Sequential`` (e.g. the downsample branch), feeding ``routing_weights`` to CondConvs."""
    if isinstance(module, CondConv2d):
        return module(x, routing_weights)
    if isinstance(module, nn.Sequential):
        for m in module:
            x = forward_with_routing(m, x, routing_weights)
        return x
    return module(x)


class CondConvBottleneck(Bottleneck):
    """mmdet's ``Bottleneck`` whose ``conv1``/``conv2``/``conv3`` (and the projection shortcut, when the enclosing
    ``ResLayer`` built it with the same ``conv_cfg``) are CondConvs sharing one routing vector
    ``r = σ(GAP(x)·R + b)`` from the block input (Eq. 2).

    Key names are those of mmdet's ``Bottleneck`` plus ``routing``; ``num_experts = 0`` is exactly mmdet's block.
    DCN and plugins are not supported in CondConv blocks.
    """

    def __init__(self,
                 inplanes: int,
                 planes: int,
                 num_experts: int = 0,
                 routing_cfg: Optional[Dict] = dict(type='SigmoidRouting'),
                 conv_cfg: Optional[Dict] = None,
                 dcn: Optional[Dict] = None,
                 plugins: Optional[list] = None,
                 **kwargs) -> None:
        if num_experts > 0:
            if dcn is not None or plugins is not None:
                raise ValueError('dcn and plugins are not supported in CondConv bottlenecks')
            conv_cfg = cond_conv_cfg(num_experts)
        super().__init__(inplanes, planes, conv_cfg=conv_cfg, dcn=dcn, plugins=plugins, **kwargs)
        self.num_experts = num_experts
        self.routing = build_block_routing(routing_cfg, inplanes, num_experts)

    def forward(self, x: Tensor) -> Tensor:
        if self.routing is None:
            return super().forward(x)

        def _inner_forward(x: Tensor) -> Tensor:
            r = self.routing(x)
            out = self.relu(self.norm1(self.conv1(x, r)))
            out = self.relu(self.norm2(self.conv2(out, r)))
            out = self.norm3(self.conv3(out, r))
            identity = x if self.downsample is None else forward_with_routing(self.downsample, x, r)
            return out + identity

        if self.with_cp and x.requires_grad:
            out = cp.checkpoint(_inner_forward, x, use_reentrant=False)
        else:
            out = _inner_forward(x)
        return self.relu(out)
