"""ImageNet classifier head: global pool → dropout → FC, the FC a CondConv when the network's last stage is."""
from typing import Dict, Optional

import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor

from condconv_det.layers import CondConv2d


class CondConvClassifier(BaseModule):
    """Pool → dropout → ``fc``.

    With ``num_experts > 0`` ``fc`` is a 1×1 :class:`CondConv2d` on the pooled ``(B, C, 1, 1)`` features with its own
    routing from those features (the paper's CondConv classification layer); its weight has shape
    ``(E, num_classes, C, 1, 1)``. Otherwise ``fc`` is an ``nn.Linear``.
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: int,
                 dropout_ratio: float = 0.2,
                 num_experts: int = 0,
                 routing_cfg: Optional[Dict] = dict(type='SigmoidRouting'),
                 init_cfg: Optional[Dict] = None) -> None:
        super().__init__(init_cfg)
        self.num_experts = num_experts
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout_ratio) if dropout_ratio > 0 else nn.Identity()
        if num_experts > 0:
            self.fc = CondConv2d(in_channels, num_classes, 1, num_experts=num_experts, routing_cfg=routing_cfg)
        else:
            self.fc = nn.Linear(in_channels, num_classes)
            nn.init.normal_(self.fc.weight, 0, 0.01)
            nn.init.zeros_(self.fc.bias)

    def forward(self, x: Tensor) -> Tensor:
        """(B, C, H, W) features → (B, num_classes) logits."""
        x = self.dropout(self.pool(x))
        if self.num_experts > 0:
            return self.fc(x).flatten(1)
        return self.fc(x.flatten(1))
