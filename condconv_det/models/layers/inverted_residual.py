"""CondConv inverted residual (MobileNetV2 / MnasNet / EfficientNet MBConv) with block-shared routing."""
from typing import Dict, Optional

import torch.nn as nn
from mmcv.cnn.bricks import DropPath
from mmengine.model import BaseModule
from torch import Tensor

from condconv_det.layers import build_routing
from .block_routing import route_once_then_run
from .cond_conv_module import CondConvModule
from .se_layer import SqueezeExcitation


class CondConvInvertedResidual(BaseModule):
    """Expand 1×1 → depthwise k×k → (static SE) → project 1×1, plus the identity shortcut when shapes allow.

    With ``num_experts > 0`` the three convolutions are CondConvs that share one routing vector
    ``r = σ(GAP(x)·R + b)`` computed once from the block input ``x`` (Eq. 2), as in the official CondConv code; the SE
    layer stays static. With ``num_experts = 0`` this is mmdet's ``InvertedResidual`` with the same submodule names
    (``expand_conv``, ``depthwise_conv``, ``se``, ``linear_conv``), so mmdet checkpoints load key for key.

    Args:
        mid_channels (int): expanded width (input of the depthwise conv).
        se_cfg (dict, optional): ``dict(squeeze_channels=..., act_cfg=...)`` for :class:`SqueezeExcitation`.
        with_expand_conv (bool): ``False`` for expand ratio 1 (then ``mid_channels == in_channels``).
        num_experts (int): experts per CondConv, 0 = static block.
        routing_cfg (dict): the block's routing function, built over ``in_channels``.
        drop_path_rate (float): stochastic depth on the residual branch.
    """

    def __init__(self,
                 in_channels: int,
                 out_channels: int,
                 mid_channels: int,
                 kernel_size: int = 3,
                 stride: int = 1,
                 se_cfg: Optional[Dict] = None,
                 with_expand_conv: bool = True,
                 num_experts: int = 0,
                 routing_cfg: Optional[Dict] = dict(type='SigmoidRouting'),
                 conv_cfg: Optional[Dict] = None,
                 norm_cfg: Dict = dict(type='BN'),
                 act_cfg: Dict = dict(type='ReLU'),
                 drop_path_rate: float = 0.,
                 with_cp: bool = False,
                 init_cfg: Optional[Dict] = None) -> None:
        super().__init__(init_cfg)
        if stride not in (1, 2):
            raise ValueError(f'stride must be 1 or 2, but got {stride}')
        if not with_expand_conv and mid_channels != in_channels:
            raise ValueError('mid_channels must equal in_channels without an expand conv')
        self.with_res_shortcut = stride == 1 and in_channels == out_channels
        self.with_expand_conv = with_expand_conv
        self.with_se = se_cfg is not None
        self.with_cp = with_cp
        self.num_experts = num_experts
        self.drop_path = DropPath(drop_path_rate) if drop_path_rate > 0 else nn.Identity()
        common = dict(num_experts=num_experts, conv_cfg=conv_cfg, norm_cfg=norm_cfg)

        self.routing = build_routing(routing_cfg, in_channels, num_experts) if num_experts > 0 else None
        if with_expand_conv:
            self.expand_conv = CondConvModule(in_channels, mid_channels, 1, act_cfg=act_cfg, **common)
        self.depthwise_conv = CondConvModule(
            mid_channels,
            mid_channels,
            kernel_size,
            stride=stride,
            padding=kernel_size // 2,
            groups=mid_channels,
            act_cfg=act_cfg,
            **common)
        if self.with_se:
            self.se = SqueezeExcitation(mid_channels, **se_cfg)
        self.linear_conv = CondConvModule(mid_channels, out_channels, 1, act_cfg=None, **common)

    def forward(self, x: Tensor) -> Tensor:
        return route_once_then_run(x, self.routing, self._forward_routed, self.with_cp)

    def _forward_routed(self, x: Tensor, r: Optional[Tensor]) -> Tensor:
        out = self.expand_conv(x, r) if self.with_expand_conv else x
        out = self.depthwise_conv(out, r)
        if self.with_se:
            out = self.se(out)
        out = self.linear_conv(out, r)
        return x + self.drop_path(out) if self.with_res_shortcut else out
