"""CondConv-MobileNetV2 (Sandler et al., 2018; CondConv: Yang et al., 2019)."""
from mmdet.registry import MODELS
from .base_cond_conv_mbconv_net import BaseCondConvMBConvNet, MBConvStage


@MODELS.register_module()
class CondConvMobileNetV2(BaseCondConvMBConvNet):
    """MobileNetV2 with CondConv inverted residuals; a drop-in for mmdet's ``MobileNetV2`` (same module names
    ``conv1, layer1..layer7, conv2``, same ``out_indices``/``frozen_stages`` semantics, same keys when static), so
    mmdet's SSDLite configs work with ``type='CondConvMobileNetV2'``.

    Default placement (``cond_stages=(3, 4, 5, 6, 7)``: layer4 … layer7 and conv2, hence also the classifier FC),
    read off the paper's MADDs, 301M → 329M at 8 experts: kernel mixing costs ≈ E × (CondConv parameters) per
    example and these layers hold 3.42M of the network's 3.50M parameters (ours: 328.4M). The figure cannot tell
    this apart from layer3 onwards (328.8M) or every layer (329.6M) — the early stages hold few parameters — while
    the last three stages alone (313.3M) or layer4 … layer7 + FC with a static conv2 (325.1M) fit worse.
    ``num_experts=0`` is mmdet's MobileNetV2.

    Output shapes for a 224×224 input, widen_factor 1: layer1 16@112, layer2 24@56, layer3 32@28, layer4 64@14,
    layer5 96@14, layer6 160@7, layer7 320@7, conv2 1280@7.
    """

    # expand_ratio, channels, num_blocks, stride (mmdet's table); 3×3 depthwise, no SE
    arch_settings = (MBConvStage(1, 16, 1, 1), MBConvStage(6, 24, 2, 2), MBConvStage(6, 32, 3, 2),
                     MBConvStage(6, 64, 4, 2), MBConvStage(6, 96, 3, 1), MBConvStage(6, 160, 3, 2),
                     MBConvStage(6, 320, 1, 1))
    head_channels = 1280
    default_cond_stages = (3, 4, 5, 6, 7)
    default_act_cfg = dict(type='ReLU6')
