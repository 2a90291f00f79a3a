"""CondConv-MobileNetV1 (Howard et al., 2017; CondConv: Yang et al., 2019)."""
from typing import NamedTuple, Sequence

from mmdet.registry import MODELS
from ..layers import CondConvDepthwiseSeparable
from .base_cond_conv_backbone import BaseCondConvBackbone


class SeparableStage(NamedTuple):
    """One ``arch_settings`` row: ``num_blocks`` depthwise-separable blocks, the first with ``stride``."""
    channels: int
    num_blocks: int
    stride: int


@MODELS.register_module()
class CondConvMobileNetV1(BaseCondConvBackbone):
    """MobileNetV1 (mmdet has none) built from depthwise-separable blocks, CondConv throughout by default.

    Layout: ``conv1`` (3×3/2, 32) → 13 separable blocks grouped by resolution into ``layer1`` (64, /2) ``layer2``
    (128, /4) ``layer3`` (256, /8) ``layer4`` (512 ×6, /16) ``layer5`` (1024 ×2, /32); no head conv, so
    ``out_indices`` index ``[layer1 … layer5]`` and the classifier FC follows ``layer5``.

    Default placement: every layer — stem (``cond_stem=True``, routed from the image), all 13 blocks and the
    classifier FC. The paper's +33M MADDs (567M → 600M) ≈ 8 × 4.2M, i.e. all of MobileNetV1's parameters. Ours is
    568.8M → 605.7M: 33.7M kernel mixing plus 3.2M for the 14 routing poolings (GAP of every block input), which the
    paper's figure evidently leaves out (without them: 602.5M).

    No residual, hence no stochastic depth (``drop_path_rate`` has no effect).

    Output shapes for 224×224, widen_factor 1: 64@112, 128@56, 256@28, 512@14, 1024@7.
    """

    arch_settings = (SeparableStage(64, 1, 1), SeparableStage(128, 2, 2), SeparableStage(256, 2, 2),
                     SeparableStage(512, 6, 2), SeparableStage(1024, 2, 2))
    head_channels = None
    default_cond_stages = (0, 1, 2, 3, 4)
    default_cond_stem = True
    default_act_cfg = dict(type='ReLU')

    def __init__(self, out_indices: Sequence[int] = (1, 2, 3, 4), **kwargs) -> None:
        super().__init__(out_indices=out_indices, **kwargs)

    def make_block(self, row: SeparableStage, in_channels: int, out_channels: int, stride: int, num_experts: int,
                   drop_path_rate: float) -> CondConvDepthwiseSeparable:
        return CondConvDepthwiseSeparable(
            in_channels,
            out_channels,
            stride=stride,
            num_experts=num_experts,
            routing_cfg=self.routing_cfg,
            conv_cfg=self.conv_cfg,
            norm_cfg=self.norm_cfg,
            act_cfg=self.act_cfg,
            with_cp=self.with_cp)
