"""CondConv building blocks shared by every backbone (routing computed once per block, SE static)."""
from .bottleneck import CondConvBottleneck, cond_conv_cfg, forward_with_routing
from .classifier import CondConvClassifier
from .cond_conv_module import CondConvModule
from .inverted_residual import CondConvInvertedResidual
from .routing import build_block_routing
from .se_layer import SqueezeExcitation
from .separable_block import CondConvDepthwiseSeparable

__all__ = [
    'CondConvModule', 'CondConvInvertedResidual', 'CondConvDepthwiseSeparable', 'CondConvBottleneck',
    'CondConvClassifier', 'SqueezeExcitation', 'build_block_routing', 'cond_conv_cfg', 'forward_with_routing'
]
