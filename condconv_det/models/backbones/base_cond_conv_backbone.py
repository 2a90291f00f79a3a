"""Abstract base of the mobile CondConv backbones: stem ``conv1`` → ``layer1..N`` (one block loop over the rows of
``arch_settings``) → optional head ``conv2`` → optional classifier, like mmyolo's ``BaseBackbone``."""
from abc import ABCMeta, abstractmethod
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple, Union

import torch.nn as nn
from mmengine.model import BaseModule
from torch import Tensor
from torch.nn.modules.batchnorm import _BatchNorm

from mmdet.models.utils import make_divisible
from condconv_det.layers.validation import check_int
from ..layers import ClassifierMixin, CondConvModule


class BaseCondConvBackbone(ClassifierMixin, BaseModule, metaclass=ABCMeta):
    """Stem, a table of stages (``arch_settings``: named rows with at least ``channels``, ``num_blocks`` and
    ``stride``, the stride of a stage's first block) and an optional 1×1 head conv, with mmdet's ``MobileNetV2``
    conventions: modules ``conv1``, ``layer1`` … ``layerN``, ``conv2``; ``out_indices`` index
    ``[layer1, …, layerN, conv2]``; ``frozen_stages = k`` freezes ``conv1`` and ``layer1..k``.

    The base runs the block loop (widths ``make_divisible(channels · widen_factor, 8)``, CondConv placement per stage,
    stochastic depth growing linearly over the blocks); subclasses set ``arch_settings``, ``head_channels``
    (``None``: no head conv), the paper's CondConv placement (``default_cond_stages``, ``default_cond_stem``) and
    implement :meth:`make_block`.

    Args:
        widen_factor (float): width multiplier (channels rounded to multiples of 8, as in mmdet).
        out_indices (Sequence[int]): outputs from ``[layer1, …, layerN, conv2]``.
        frozen_stages (int): -1 = none; ``k`` freezes ``conv1`` and ``layer1..k``.
        num_experts (int): experts per CondConv; 0 = the plain static network.
        cond_stages (Sequence[int], optional): which of ``[layer1, …, conv2]`` (``out_indices`` numbering) are
            CondConv; ``None`` = the paper's placement for this architecture.
        cond_stem (bool, optional): whether the stem conv is CondConv (own routing); ``None`` = paper's.
        cond_classifier (bool, optional): whether the classifier FC is CondConv; ``None`` = iff the last stage is.
        routing_cfg (dict): routing function, one per block, built over the block input.
        num_classes (int): > 0 adds the ImageNet head (pool → dropout → FC) and sets ``with_classifier``;
            ``forward`` then returns logits.
        dropout_ratio (float): dropout before the classifier FC.
        drop_path_rate (float): stochastic depth, growing linearly over the blocks (blocks with a residual).
    """

    arch_settings: Sequence[NamedTuple] = ()
    stem_channels: int = 32
    head_channels: Optional[int] = 1280
    default_cond_stages: Tuple[int, ...] = ()
    default_cond_stem: bool = False
    default_act_cfg: Dict = dict(type='ReLU')

    def __init__(self,
                 widen_factor: float = 1.,
                 out_indices: Sequence[int] = (1, 2, 4, 7),
                 frozen_stages: int = -1,
                 num_experts: int = 8,
                 cond_stages: Optional[Sequence[int]] = None,
                 cond_stem: Optional[bool] = None,
                 cond_classifier: Optional[bool] = None,
                 routing_cfg: Optional[Dict] = dict(type='SigmoidRouting'),
                 num_classes: int = 0,
                 dropout_ratio: float = 0.2,
                 drop_path_rate: float = 0.,
                 conv_cfg: Optional[Dict] = None,
                 norm_cfg: Dict = dict(type='BN'),
                 act_cfg: Optional[Dict] = None,
                 norm_eval: bool = False,
                 with_cp: bool = False,
                 init_cfg: Optional[Union[Dict, List[Dict]]] = None) -> None:
        if init_cfg is None:
            init_cfg = [
                dict(type='Kaiming', layer='Conv2d'),
                dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])
            ]
        super().__init__(init_cfg)
        check_int('num_experts', num_experts, minimum=0, note=' (0 = static network)')
        num_layers = len(self.arch_settings)
        self.num_outs = num_layers + (1 if self.head_channels is not None else 0)
        if not set(out_indices).issubset(range(self.num_outs)):
            raise ValueError(f'out_indices must be a subset of range(0, {self.num_outs}), but got {out_indices}')
        if frozen_stages not in range(-1, num_layers + 1):
            raise ValueError(f'frozen_stages must be in range(-1, {num_layers + 1}), but got {frozen_stages}')
        cond_stages = self.default_cond_stages if cond_stages is None else tuple(cond_stages)
        if not set(cond_stages).issubset(range(self.num_outs)):
            raise ValueError(f'cond_stages must be a subset of range(0, {self.num_outs}), but got {cond_stages}')
        self.widen_factor = widen_factor
        self.out_indices = out_indices
        self.frozen_stages = frozen_stages
        self.num_experts = num_experts
        self.cond_stages = tuple(sorted(cond_stages)) if num_experts > 0 else ()
        self.cond_stem = (self.default_cond_stem if cond_stem is None else cond_stem) and num_experts > 0
        if cond_classifier is None:
            cond_classifier = (self.num_outs - 1) in self.cond_stages
        self.cond_classifier = cond_classifier and num_experts > 0
        self.routing_cfg = routing_cfg
        self.conv_cfg = conv_cfg
        self.norm_cfg = norm_cfg
        self.act_cfg = self.default_act_cfg if act_cfg is None else act_cfg
        self.norm_eval = norm_eval
        self.with_cp = with_cp
        self.drop_path_rate = drop_path_rate

        stem_channels = make_divisible(self.stem_channels * widen_factor, 8)
        self.conv1 = CondConvModule(
            3,
            stem_channels,
            3,
            stride=2,
            padding=1,
            num_experts=num_experts if self.cond_stem else 0,
            routing_cfg=routing_cfg,
            conv_cfg=conv_cfg,
            norm_cfg=norm_cfg,
            act_cfg=self.act_cfg)
        self.layers, last_channels = self._make_stages(stem_channels)

        if self.head_channels is not None:
            self.out_channel = int(self.head_channels * widen_factor) if widen_factor > 1. else self.head_channels
            self.conv2 = CondConvModule(
                last_channels,
                self.out_channel,
                1,
                num_experts=num_experts if num_layers in self.cond_stages else 0,
                routing_cfg=routing_cfg,
                conv_cfg=conv_cfg,
                norm_cfg=norm_cfg,
                act_cfg=self.act_cfg)
            self.layers.append('conv2')
        else:
            self.out_channel = last_channels

        self.init_classifier(self.out_channel, num_classes, dropout_ratio,
                             num_experts if self.cond_classifier else 0, routing_cfg)
        self._freeze_stages()

    def _make_stages(self, in_channels: int) -> Tuple[List[str], int]:
        """The block loop: add ``layer1..N``, one ``nn.Sequential`` of :meth:`make_block` per row; return their
        names and the last stage's width."""
        total_blocks = sum(row.num_blocks for row in self.arch_settings)
        block_idx = 0
        names = []
        for stage_idx, row in enumerate(self.arch_settings):
            num_experts = self.num_experts if stage_idx in self.cond_stages else 0
            out_channels = make_divisible(row.channels * self.widen_factor, 8)
            blocks = []
            for i in range(row.num_blocks):
                blocks.append(
                    self.make_block(
                        row,
                        in_channels,
                        out_channels,
                        stride=row.stride if i == 0 else 1,
                        num_experts=num_experts,
                        drop_path_rate=self.drop_path_rate * block_idx / max(total_blocks, 1)))
                in_channels = out_channels
                block_idx += 1
            names.append(f'layer{stage_idx + 1}')
            self.add_module(names[-1], nn.Sequential(*blocks))
        return names, in_channels

    @abstractmethod
    def make_block(self, row: NamedTuple, in_channels: int, out_channels: int, stride: int, num_experts: int,
                   drop_path_rate: float) -> nn.Module:
        """One block of the stage described by ``row`` (``num_experts = 0``: a static block), built with the
        backbone's ``routing_cfg``, ``conv_cfg``, ``norm_cfg``, ``act_cfg`` and ``with_cp``."""

    def _freeze_stages(self) -> None:
        if self.frozen_stages >= 0:
            self.conv1.eval()
            for param in self.conv1.parameters():
                param.requires_grad = False
        for i in range(1, self.frozen_stages + 1):
            layer = getattr(self, f'layer{i}')
            layer.eval()
            for param in layer.parameters():
                param.requires_grad = False

    def forward(self, x: Tensor) -> Union[Tuple[Tensor, ...], Tensor]:
        """Features at ``out_indices``; with a classifier (``num_classes > 0``) the ``(B, num_classes)`` logits."""
        x = self.conv1(x)
        outs = []
        for i, layer_name in enumerate(self.layers):
            x = getattr(self, layer_name)(x)
            if i in self.out_indices:
                outs.append(x)
        if self.with_classifier:
            return self.classifier(x)
        return tuple(outs)

    def train(self, mode: bool = True) -> 'BaseCondConvBackbone':
        """Train mode, keeping frozen stages frozen and BN in eval mode when ``norm_eval``."""
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
