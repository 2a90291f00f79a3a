"""CondConv ResNet bottleneck with block-shared routing."""
from typing import Dict, Optional

from mmdet.models.backbones.resnet import Bottleneck
from torch import Tensor

from condconv_det.layers import build_routing
from .block_routing import cond_conv_cfg, forward_with_routing, route_once_then_run


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
        self.routing = build_routing(routing_cfg, inplanes, num_experts) if num_experts > 0 else None

    def forward(self, x: Tensor) -> Tensor:
        if self.routing is None:  # static, or its routing collapsed (models/utils/collapse_routing.py)
            return super().forward(x)
        return self.relu(route_once_then_run(x, self.routing, self._forward_routed, self.with_cp))

    def _forward_routed(self, x: Tensor, r: Optional[Tensor]) -> Tensor:
        """The block before its final ReLU: ``conv1 → conv2 → conv3`` plus the shortcut, all routed by ``r``."""
        out = self.relu(self.norm1(self.conv1(x, r)))
        out = self.relu(self.norm2(self.conv2(out, r)))
        out = self.norm3(self.conv3(out, r))
        identity = x if self.downsample is None else forward_with_routing(self.downsample, x, r)
        return out + identity
