"""CondConv depthwise-separable block of MobileNetV1 with block-shared routing."""
from typing import Dict, Optional

from mmengine.model import BaseModule
from torch import Tensor

from condconv_det.layers import build_routing
from .block_routing import route_once_then_run
from .cond_conv_module import CondConvModule


class CondConvDepthwiseSeparable(BaseModule):
    """Depthwise 3×3 → BN → act → pointwise 1×1 → BN → act (Howard et al., 2017, Fig. 3).

    With ``num_experts > 0`` both convolutions are CondConvs sharing one routing vector computed from the block
    input (Eq. 2); ``num_experts = 0`` gives the static block. Submodules: ``depthwise_conv``, ``pointwise_conv``.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 stride: int = 1,
                 kernel_size: int = 3,
                 num_experts: int = 0,
                 routing_cfg: Optional[Dict] = dict(type='SigmoidRouting'),
                 conv_cfg: Optional[Dict] = None,
                 norm_cfg: Dict = dict(type='BN'),
                 act_cfg: Dict = dict(type='ReLU'),
                 with_cp: bool = False,
                 init_cfg: Optional[Dict] = None) -> None:
        super().__init__(init_cfg)
        self.with_cp = with_cp
        self.num_experts = num_experts
        common = dict(num_experts=num_experts, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.routing = build_routing(routing_cfg, in_channels, num_experts) if num_experts > 0 else None
        self.depthwise_conv = CondConvModule(
            in_channels,
            in_channels,
            kernel_size,
            stride=stride,
            padding=kernel_size // 2,
            groups=in_channels,
            **common)
        self.pointwise_conv = CondConvModule(in_channels, out_channels, 1, **common)

    def forward(self, x: Tensor) -> Tensor:
        return route_once_then_run(x, self.routing, self._forward_routed, self.with_cp)

    def _forward_routed(self, x: Tensor, r: Optional[Tensor]) -> Tensor:
        return self.pointwise_conv(self.depthwise_conv(x, r), r)
