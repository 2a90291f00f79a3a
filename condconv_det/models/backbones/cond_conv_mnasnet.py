"""CondConv-MnasNet-A1 (Tan et al., 2019; CondConv: Yang et al., 2019)."""
from mmdet.registry import MODELS
from .base_cond_conv_mbconv_net import BaseCondConvMBConvNet, MBConvStage


@MODELS.register_module()
class CondConvMnasNet(BaseCondConvMBConvNet):
    """MnasNet-A1 (MnasNet paper, Fig. 7(a)): stem 3×3/2 32 → SepConv k3 16 → MBConv6 k3 24 ×2 → MBConv3 k5 SE 40 ×3
    → MBConv6 k3 80 ×4 → MBConv6 k3 SE 112 ×2 → MBConv6 k5 SE 160 ×3 → MBConv6 k3 320 → 1×1 1280; ReLU, SE ratio
    0.25 of the block input. The SepConv is the expand-free MBConv (depthwise → project), as in the TF code.

    Modules ``conv1, layer1..layer7, conv2`` as mmdet's MobileNetV2; default ``out_indices=(1, 2, 4, 7)`` give
    strides 4, 8, 16, 32 (24@56, 40@28, 112@14, 1280@7 for 224×224).

    Default placement (``cond_stages=(4, 5, 6)``): the last three stages (112, 160, 320 channels), mirroring the
    official EfficientNet placement; they hold 1.58M parameters and 8 × 1.58M = 12.7M ≈ the paper's +13M
    (312M → 325M). The head conv and the classifier FC stay static (``cond_classifier`` follows the last entry,
    ``conv2``).
    """

    # expand_ratio, channels, num_blocks, stride; kernel_size 3 and se_ratio 0 unless given
    arch_settings = (MBConvStage(1, 16, 1, 1),
                     MBConvStage(6, 24, 2, 2),
                     MBConvStage(3, 40, 3, 2, kernel_size=5, se_ratio=0.25),
                     MBConvStage(6, 80, 4, 2),
                     MBConvStage(6, 112, 2, 1, se_ratio=0.25),
                     MBConvStage(6, 160, 3, 2, kernel_size=5, se_ratio=0.25),
                     MBConvStage(6, 320, 1, 1))
    head_channels = 1280
    default_cond_stages = (4, 5, 6)
    default_act_cfg = dict(type='ReLU')
