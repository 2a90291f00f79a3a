"""SSD / SSDLite head whose convolutions can be CondConv, free of mmdet 3.3.0's ``loss_cls`` bug."""
import copy
from typing import List, Optional, Tuple

import torch.nn as nn
from mmcv.cnn import build_conv_layer
from mmdet.models.dense_heads import SSDHead
from mmdet.registry import MODELS
from torch import Tensor

from condconv_det.layers import CondConv2d, build_routing
from condconv_det.layers.validation import check_int
from ..layers import cond_conv_cfg, forward_with_routing


@MODELS.register_module()
class CondConvSSDHead(SSDHead):
    """mmdet's ``SSDHead`` (SSD, or SSDLite with ``use_depthwise=True``) with optional CondConv layers.

    With ``num_experts=0`` the layers, parameter names and outputs are exactly mmdet's ``SSDHead``, so mmdet
    checkpoints load. With ``num_experts >= 1`` every convolution of the class and box towers is a
    :class:`~condconv_det.layers.CondConv2d`, and one routing vector per pyramid level,
    ``r_l = routing_l(feature_l)`` (paper eq. 2), is shared by both towers of that level, as routing is shared
    inside a block in the paper's networks. ``condconv_predictors=True`` makes the final class/box predictors
    CondConv too (routed by the same ``r_l``).

    mmdet 3.3.0's ``SSDHead`` has no ``loss_cls`` attribute (its softmax cross-entropy with hard-negative mining is
    written inline), yet ``BaseDenseHead._predict_by_feat_single`` reads ``self.loss_cls`` at validation/test time and
    raises ``AttributeError`` (mmdet issues #11063, #11780). This head defines ``loss_cls = None``, which that code
    reads as "no custom class channels", so scores are the softmax over classes as SSD intends.

    Args:
        num_experts: experts per CondConv layer; 0 keeps the head static.
        routing_cfg: config of the per-level routing function (``SigmoidRouting`` by default).
        condconv_predictors: make the final 1×1 (SSDLite) / 3×3 (SSD) predictors CondConv as well.
        **kwargs: every argument of mmdet's ``SSDHead``.
    """

    def __init__(self,
                 *args,
                 num_experts: int = 0,
                 routing_cfg: Optional[dict] = None,
                 condconv_predictors: bool = False,
                 **kwargs) -> None:
        check_int('num_experts', num_experts, minimum=0, note=' (0 = static head)')
        if condconv_predictors and num_experts == 0:
            raise ValueError('condconv_predictors=True needs num_experts >= 1')
        if (num_experts > 0 and not condconv_predictors and not kwargs.get('use_depthwise', False)
                and kwargs.get('stacked_convs', 0) == 0):
            raise ValueError(
                f'num_experts={num_experts} but this SSD head has no convolution to make CondConv: without '
                'use_depthwise or stacked_convs it is only the predictors; set condconv_predictors=True, '
                'or num_experts=0 for a static head')
        # Set before SSDHead.__init__, which calls self._init_layers().
        self.num_experts = num_experts
        self.routing_cfg = copy.deepcopy(routing_cfg) if routing_cfg is not None else dict(type='SigmoidRouting')
        self.condconv_predictors = condconv_predictors
        super().__init__(*args, **kwargs)
        self.loss_cls = None  # see the class docstring: mmdet 3.3.0's SSDHead lacks this attribute

    def _init_layers(self) -> None:
        """Build mmdet's towers; with experts, their convolutions are CondConv routed per level."""
        if self.num_experts == 0:
            super()._init_layers()
            return
        if self.conv_cfg is not None and self.conv_cfg.get('type') != 'CondConv2d':
            raise ValueError(f'CondConvSSDHead with num_experts={self.num_experts} builds its own CondConv layers; '
                             f'conv_cfg must be None or type CondConv2d, got {self.conv_cfg}')
        user_conv_cfg = self.conv_cfg
        self.conv_cfg = cond_conv_cfg(self.num_experts)
        super()._init_layers()
        self.conv_cfg = user_conv_cfg
        self.level_routings = nn.ModuleList(
            build_routing(self.routing_cfg, in_channels, self.num_experts) for in_channels in self.in_channels)
        if self.condconv_predictors:
            for towers in (self.cls_convs, self.reg_convs):
                for tower in towers:
                    tower[-1] = self._as_condconv(tower[-1])

    def _as_condconv(self, conv: nn.Conv2d) -> CondConv2d:
        """A CondConv of ``conv``'s geometry, routed by the level's routing."""
        return build_conv_layer(cond_conv_cfg(self.num_experts), conv.in_channels, conv.out_channels,
                                conv.kernel_size, stride=conv.stride, padding=conv.padding, dilation=conv.dilation,
                                groups=conv.groups, bias=conv.bias is not None)

    def forward(self, x: Tuple[Tensor, ...]) -> Tuple[List[Tensor], List[Tensor]]:
        """Class scores and box deltas per level; with experts, one routing vector per level for both towers."""
        if self.num_experts == 0:
            return super().forward(x)
        cls_scores, bbox_preds = [], []
        for feat, routing, cls_conv, reg_conv in zip(x, self.level_routings, self.cls_convs, self.reg_convs):
            routing_weights = routing(feat)
            cls_scores.append(forward_with_routing(cls_conv, feat, routing_weights))
            bbox_preds.append(forward_with_routing(reg_conv, feat, routing_weights))
        return cls_scores, bbox_preds
