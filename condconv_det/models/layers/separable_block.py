"""CondConv depthwise-separable block of MobileNetV1 with block-shared routing."""
from typing import Dict, Optional

import torch.utils.checkpoint as cp
from mmengine.model import BaseModule
from torch import Tensor

from .cond_conv_module import CondConvModule
from .routing import build_block_routing


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
        self.routing = build_block_routing(routing_cfg, in_channels, num_experts)
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

        def _inner_forward(x: Tensor) -> Tensor:
            r = self.routing(x) if self.routing is not None else None
            return self.pointwise_conv(self.depthwise_conv(x, r), r)

        if self.with_cp and x.requires_grad:
            return cp.checkpoint(_inner_forward, x, use_reentrant=False)
        return _inner_forward(x)
