"""CondConv-EfficientNet-B0 (Tan & Le, 2019; CondConv: Yang et al., 2019)."""
from mmdet.registry import MODELS
from .base_cond_conv_mbconv_net import BaseCondConvMBConvNet, MBConvStage


@MODELS.register_module()
class CondConvEfficientNet(BaseCondConvMBConvNet):
    """EfficientNet-B0 (EfficientNet paper, Table 1): stem 3×3/2 32 → MBConv1 k3 16 → MBConv6 k3 24 ×2 → MBConv6 k5
    40 ×2 → MBConv6 k3 80 ×3 → MBConv6 k5 112 ×3 → MBConv6 k5 192 ×4 → MBConv6 k3 320 → 1×1 1280; Swish, SE 0.25 of
    the block input in every block. Only B0's table (no compound scaling); ``widen_factor`` scales the widths.

    Modules ``conv1, layer1..layer7, conv2`` as mmdet's MobileNetV2; default ``out_indices=(1, 2, 4, 7)`` give
    strides 4, 8, 16, 32 (24@56, 40@28, 112@14, 1280@7 for 224×224).

    Default placement (``cond_stages=(4, 5, 6)``), the official CondConv-EfficientNet code: the last three stages
    (112, 192, 320 channels; 2.67M parameters, 8 × 2.67M = 21.4M ≈ the paper's +22M, 391M → 413M; 4 experts: 402M).
    The head conv and the classifier FC stay static.
    """

    # expand_ratio, channels, num_blocks, stride; kernel_size 3 and se_ratio 0 unless given
    arch_settings = (MBConvStage(1, 16, 1, 1, se_ratio=0.25),
                     MBConvStage(6, 24, 2, 2, se_ratio=0.25),
                     MBConvStage(6, 40, 2, 2, kernel_size=5, se_ratio=0.25),
                     MBConvStage(6, 80, 3, 2, se_ratio=0.25),
                     MBConvStage(6, 112, 3, 1, kernel_size=5, se_ratio=0.25),
                     MBConvStage(6, 192, 4, 2, kernel_size=5, se_ratio=0.25),
                     MBConvStage(6, 320, 1, 1, se_ratio=0.25))
    head_channels = 1280
    default_cond_stages = (4, 5, 6)
    default_act_cfg = dict(type='Swish')
