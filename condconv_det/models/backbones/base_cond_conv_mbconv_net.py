"""Base of the inverted-residual (MBConv) CondConv backbones: MobileNetV2, MnasNet-A1, EfficientNet-B0."""
from typing import Dict, NamedTuple

from ..layers import CondConvInvertedResidual
from .base_cond_conv_backbone import BaseCondConvBackbone


class MBConvStage(NamedTuple):
    """One ``arch_settings`` row: ``num_blocks`` inverted residuals (MBConv), the first with ``stride``.

    ``expand_ratio`` 1 means no expand conv; ``se_ratio`` 0 means no SE, else the SE squeeze width is
    ``max(1, int(block_in_channels · se_ratio))`` as in the TF reference models. The field order of the first four
    is mmdet's MobileNetV2 table.
    """
    expand_ratio: int
    channels: int
    num_blocks: int
    stride: int
    kernel_size: int = 3
    se_ratio: float = 0.


class BaseCondConvMBConvNet(BaseCondConvBackbone):
    """:class:`BaseCondConvBackbone` whose blocks are :class:`CondConvInvertedResidual` (expand 1×1 → depthwise k×k →
    static SE → project 1×1), one ``MBConvStage`` per stage; the SE layer stays static."""

    se_gate_cfg: Dict = dict(type='Sigmoid')

    def make_block(self, row: MBConvStage, in_channels: int, out_channels: int, stride: int, num_experts: int,
                   drop_path_rate: float) -> CondConvInvertedResidual:
        se_cfg = None
        if row.se_ratio > 0:
            se_cfg = dict(squeeze_channels=max(1, int(in_channels * row.se_ratio)),
                          act_cfg=(self.act_cfg, self.se_gate_cfg))
        return CondConvInvertedResidual(
            in_channels,
            out_channels,
            mid_channels=int(round(in_channels * row.expand_ratio)),
            kernel_size=row.kernel_size,
            stride=stride,
            se_cfg=se_cfg,
            with_expand_conv=row.expand_ratio != 1,
            num_experts=num_experts,
            routing_cfg=self.routing_cfg,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg,
            drop_path_rate=drop_path_rate,
            with_cp=self.with_cp)
