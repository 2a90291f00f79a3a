"""Static squeeze-and-excitation for MBConv blocks (MnasNet / EfficientNet flavour)."""
from typing import Dict, Optional, Sequence, Union

import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from .cond_conv_module import CondConvModule


class SqueezeExcitation(BaseModule):
    """``x · σ(W_2 δ(W_1 GAP(x)))``; stays static in a CondConv block, as in the official code.

    Unlike mmdet's ``SELayer`` (``channels / ratio``) the squeeze width is given explicitly, because MnasNet and
    EfficientNet size it from the *block input* (``max(1, int(in_channels · se_ratio))``), not the expanded width.
    Submodules are named ``conv1``/``conv2`` like mmdet's ``SELayer``.
    """

    def __init__(self,
                 channels: int,
                 squeeze_channels: int,
                 act_cfg: Union[Dict, Sequence[Dict]] = (dict(type='ReLU'), dict(type='Sigmoid')),
                 init_cfg: Optional[Dict] = None) -> None:
        super().__init__(init_cfg)
        if isinstance(act_cfg, dict):
            act_cfg = (act_cfg, act_cfg)
        self.global_avgpool = nn.AdaptiveAvgPool2d(1)
        self.conv1 = CondConvModule(channels, squeeze_channels, 1, act_cfg=act_cfg[0])
        self.conv2 = CondConvModule(squeeze_channels, channels, 1, act_cfg=act_cfg[1])

    def forward(self, x: Tensor) -> Tensor:
        return x * self.conv2(self.conv1(self.global_avgpool(x)))
