"""ImageNet classifier head: global pool → dropout → FC, the FC a CondConv when the network's last stage is, and
the mixin that attaches it to a backbone."""
from typing import Dict, Optional

import torch.nn as nn
from mmcv.cnn import build_conv_layer
from mmengine.model import BaseModule
from torch import Tensor

from .block_routing import cond_conv_cfg


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
            self.fc = build_conv_layer(cond_conv_cfg(num_experts, routing_cfg), in_channels, num_classes, 1)
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


class ClassifierMixin:
    """For backbones: the optional ImageNet head ``classifier`` on the last feature map, present when
    ``num_classes > 0`` (``with_classifier``; ``forward`` then returns logits)."""

    def init_classifier(self, in_channels: int, num_classes: int, dropout_ratio: float, num_experts: int,
                        routing_cfg: Optional[Dict]) -> None:
        """Add ``classifier`` (FC a CondConv with ``num_experts > 0``) when ``num_classes > 0``."""
        # Not `self.num_classes`: mmdet's NumClassCheckHook asserts every module's `num_classes` equals the
        # dataset's class count, and a detector's backbone has no classifier.
        self.with_classifier = num_classes > 0
        if self.with_classifier:
            self.classifier = CondConvClassifier(
                in_channels, num_classes, dropout_ratio=dropout_ratio, num_experts=num_experts,
                routing_cfg=routing_cfg)
