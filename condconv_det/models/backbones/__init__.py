"""CondConv backbones of the paper's five architectures, registered in mmdet's ``MODELS``."""
from .cond_conv_efficientnet import CondConvEfficientNet
from .cond_conv_mnasnet import CondConvMnasNet
from .cond_conv_mobilenet_v1 import CondConvMobileNetV1
from .cond_conv_mobilenet_v2 import CondConvMobileNetV2
from .cond_conv_resnet import CondConvResNet

__all__ = ['CondConvMobileNetV1', 'CondConvMobileNetV2', 'CondConvResNet', 'CondConvMnasNet', 'CondConvEfficientNet']
