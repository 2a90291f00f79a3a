"""CondConv-MobileNetV1 (Howard et al., 2017; CondConv: Yang et al., 2019)."""
from typing import Sequence

import torch.nn as nn

from mmdet.models.utils import make_divisible
from mmdet.registry import MODELS
from ..layers import CondConvDepthwiseSeparable
from .base_cond_conv_mobilenet import BaseCondConvMobileNet


@MODELS.register_module()
class CondConvMobileNetV1(BaseCondConvMobileNet):
    """MobileNetV1 (mmdet has none) built from depthwise-separable blocks, CondConv throughout by default.

    Layout: ``conv1`` (3×3/2, 32) → 13 separable blocks grouped by resolution into ``layer1`` (64, /2) ``layer2``
    (128, /4) ``layer3`` (256, /8) ``layer4`` (512 ×6, /16) ``layer5`` (1024 ×2, /32); no head conv, so
    ``out_indices`` index ``[layer1 … layer5]`` and the classifier FC follows ``layer5``.

    Default placement: every layer — stem (``cond_stem=True``, routed from the image), all 13 blocks and the
    classifier FC. The paper's +33M MADDs (567M → 600M) ≈ 8 × 4.2M, i.e. all of MobileNetV1's parameters. Ours is
    568.8M → 605.7M: 33.7M kernel mixing plus 3.2M for the 14 routing poolings (GAP of every block input), which the
    paper's figure evidently leaves out (without them: 602.5M).

    Output shapes for 224×224, widen_factor 1: 64@112, 128@56, 256@28, 512@14, 1024@7.
    """

    # channels, num_blocks, stride of the first block
    arch_settings = [[64, 1, 1], [128, 2, 2], [256, 2, 2], [512, 6, 2], [1024, 2, 2]]
    head_channels = None
    default_cond_stages = (0, 1, 2, 3, 4)
    default_cond_stem = True
    default_act_cfg = dict(type='ReLU')

    def __init__(self, out_indices: Sequence[int] = (1, 2, 3, 4), **kwargs) -> None:
        super().__init__(out_indices=out_indices, **kwargs)

    @staticmethod
    def num_blocks_of(setting: Sequence) -> int:
        return setting[1]

    def make_layer(self, setting: Sequence, num_experts: int) -> nn.Sequential:
        channels, num_blocks, stride = setting
        out_channels = make_divisible(channels * self.widen_factor, 8)
        blocks = []
        for i in range(num_blocks):
            blocks.append(
                CondConvDepthwiseSeparable(
                    self.in_channels,
                    out_channels,
                    stride=stride if i == 0 else 1,
                    num_experts=num_experts,
                    routing_cfg=self.routing_cfg,
                    conv_cfg=self.conv_cfg,
                    norm_cfg=self.norm_cfg,
                    act_cfg=self.act_cfg,
                    with_cp=self.with_cp))
            self.in_channels = out_channels
        return nn.Sequential(*blocks)
