"""SSD / SSDLite head whose convolutions can be CondConv, free of mmdet 3.3.0's ``loss_cls`` bug."""
import copy
from typing import List, Optional, Tuple

import torch.nn as nn
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule
from mmdet.models.dense_heads import SSDHead
from mmdet.registry import MODELS
from torch import Tensor

from condconv_det.layers import CondConv2d, build_routing


def forward_with_routing(module: nn.Module, x: Tensor, routing_weights: Tensor) -> Tensor:
    """Run ``module`` (a CondConv2d, ConvModule, DepthwiseSeparableConvModule or a Sequential of them) on ``x``,
    passing ``routing_weights`` to every CondConv2d inside; other modules run as usual."""
    if isinstance(module, CondConv2d):
        return module(x, routing_weights=routing_weights)
    if isinstance(module, ConvModule):
        for layer in module.order:  # mmcv's ConvModule.forward, with the routing handed to the conv
            if layer == 'conv':
                if module.with_explicit_padding:
                    x = module.padding_layer(x)
                x = forward_with_routing(module.conv, x, routing_weights)
            elif layer == 'norm' and module.with_norm:
                x = module.norm(x)
            elif layer == 'act' and module.with_activation:
                x = module.activate(x)
        return x
    if isinstance(module, DepthwiseSeparableConvModule):
        x = forward_with_routing(module.depthwise_conv, x, routing_weights)
        return forward_with_routing(module.pointwise_conv, x, routing_weights)
    if isinstance(module, nn.Sequential):
        for child in module:
            x = forward_with_routing(child, x, routing_weights)
        return x
    return module(x)


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
        if not isinstance(num_experts, int) or isinstance(num_experts, bool) or num_experts < 0:
            raise ValueError(f'num_experts must be an int >= 0 (0 = static head), got {num_experts!r}')
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
        self.conv_cfg = dict(type='CondConv2d', num_experts=self.num_experts, routing_cfg=None)
        super()._init_layers()
        self.conv_cfg = user_conv_cfg
        self.level_routings = nn.ModuleList(
            build_routing(self.routing_cfg, in_channels, self.num_experts) for in_channels in self.in_channels)
        if self.condconv_predictors:
            for towers in (self.cls_convs, self.reg_convs):
                for tower in towers:
                    tower[-1] = self._as_condconv(tower[-1])

    def _as_condconv(self, conv: nn.Conv2d) -> CondConv2d:
        return CondConv2d(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride,
                          padding=conv.padding, dilation=conv.dilation, groups=conv.groups,
                          bias=conv.bias is not None, num_experts=self.num_experts, routing_cfg=None)

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
