"""CondConv-ResNet (He et al., 2016; CondConv: Yang et al., 2019)."""
from typing import Dict, Optional, Sequence, Tuple, Union

from mmdet.models.backbones import ResNet
from mmdet.models.backbones.resnet import Bottleneck
from mmdet.models.layers import ResLayer
from mmdet.registry import MODELS
from torch import Tensor

from condconv_det.layers.validation import check_int
from ..layers import ClassifierMixin, CondConvBottleneck, cond_conv_cfg


@MODELS.register_module()
class CondConvResNet(ClassifierMixin, ResNet):
    """mmdet's ``ResNet`` (every argument kept) whose stages flagged in ``stage_with_condconv`` use
    :class:`CondConvBottleneck`: conv1/conv2/conv3 and the projection shortcut are CondConvs sharing one routing
    vector from the block input. Static stages are mmdet's ``Bottleneck`` verbatim, so key names match mmdet's
    ResNet (plus ``*.routing.*`` and the expert dimension).

    Default placement ``stage_with_condconv=(False, False, False, True)``: the last stage. Its 14.94M conv parameters
    (including the 1024→2048 projection) give 8 × 14.94M = 119.5M ≈ the paper's +120M (4093M → 4213M); a CondConv FC
    would add another 8 × 2.05M = 16.4M, which the paper's figure does not contain, so ``cond_classifier=False``.

    Args:
        num_experts (int): experts per CondConv; 0 = mmdet's ResNet.
        stage_with_condconv (Sequence[bool]): CondConv stages, like ``stage_with_dcn``.
        routing_cfg (dict): per-block routing function.
        num_classes (int): > 0 adds the ImageNet head (pool → dropout → FC); ``forward`` then returns logits.
        dropout_ratio (float): dropout before the FC.
        cond_classifier (bool): whether the FC is a CondConv.
        Others: see mmdet's ``ResNet``; only Bottleneck depths (50, 101, 152) support CondConv stages.

    Output shapes for 224×224 (depth 50): 256@56, 512@28, 1024@14, 2048@7.
    """

    def __init__(self,
                 depth: int = 50,
                 num_experts: int = 8,
                 stage_with_condconv: Sequence[bool] = (False, False, False, True),
                 routing_cfg: Optional[Dict] = dict(type='SigmoidRouting'),
                 num_classes: int = 0,
                 dropout_ratio: float = 0.,
                 cond_classifier: bool = False,
                 out_indices: Sequence[int] = (0, 1, 2, 3),
                 frozen_stages: int = -1,
                 num_stages: int = 4,
                 conv_cfg: Optional[Dict] = None,
                 **kwargs) -> None:
        check_int('num_experts', num_experts, minimum=0, note=' (0 = static network)')
        if not set(out_indices).issubset(range(num_stages)):
            raise ValueError(f'out_indices must be a subset of range(0, {num_stages}), but got {out_indices}')
        if frozen_stages not in range(-1, num_stages + 1):
            raise ValueError(f'frozen_stages must be in range(-1, {num_stages + 1}), but got {frozen_stages}')
        if len(stage_with_condconv) != num_stages:
            raise ValueError(f'stage_with_condconv must have num_stages={num_stages} entries, '
                             f'but got {stage_with_condconv}')
        if num_experts > 0 and any(stage_with_condconv):
            if depth in self.arch_settings and self.arch_settings[depth][0] is not Bottleneck:
                raise ValueError(f'CondConv stages need a Bottleneck ResNet (depth 50/101/152), got depth={depth}')
            if conv_cfg is not None:
                raise ValueError('conv_cfg must be None when CondConv stages are used')
        self.num_experts = num_experts
        self.stage_with_condconv = tuple(bool(s) and num_experts > 0 for s in stage_with_condconv)
        self.routing_cfg = routing_cfg
        super().__init__(
            depth=depth,
            out_indices=out_indices,
            frozen_stages=frozen_stages,
            num_stages=num_stages,
            conv_cfg=conv_cfg,
            **kwargs)
        self.cond_classifier = cond_classifier and num_experts > 0
        self.init_classifier(self.feat_dim, num_classes, dropout_ratio, num_experts if self.cond_classifier else 0,
                             routing_cfg)

    def make_res_layer(self, **kwargs) -> ResLayer:
        """Build stage ``len(self.res_layers)``; CondConv stages get CondConv convs in blocks and shortcut."""
        stage_idx = len(self.res_layers)
        if self.stage_with_condconv[stage_idx]:
            kwargs.update(
                block=CondConvBottleneck,
                conv_cfg=cond_conv_cfg(self.num_experts),
                num_experts=self.num_experts,
                routing_cfg=self.routing_cfg)
        return ResLayer(**kwargs)

    def train(self, mode: bool = True) -> 'CondConvResNet':
        """mmdet's ``train`` (frozen stages, ``norm_eval``), returning ``self`` like ``nn.Module.train``."""
        super().train(mode)
        return self

    def forward(self, x: Tensor) -> Union[Tuple[Tensor, ...], Tensor]:
        """Features at ``out_indices``; with a classifier (``num_classes > 0``) the ``(B, num_classes)`` logits."""
        if not self.with_classifier:
            return super().forward(x)
        x = self.maxpool(self.relu(self.norm1(self.conv1(x)))) if not self.deep_stem else self.maxpool(self.stem(x))
        for layer_name in self.res_layers:
            x = getattr(self, layer_name)(x)
        return self.classifier(x)
