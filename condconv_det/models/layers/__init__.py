"""CondConv building blocks shared by every backbone (routing computed once per block, SE static)."""
from .block_routing import cond_conv_cfg, forward_with_routing, route_once_then_run
from .bottleneck import CondConvBottleneck
from .classifier import ClassifierMixin, CondConvClassifier
from .cond_conv_module import CondConvModule
from .inverted_residual import CondConvInvertedResidual
from .se_layer import SqueezeExcitation
from .separable_block import CondConvDepthwiseSeparable

__all__ = [
    'CondConvModule', 'CondConvInvertedResidual', 'CondConvDepthwiseSeparable', 'CondConvBottleneck',
    'CondConvClassifier', 'ClassifierMixin', 'SqueezeExcitation', 'cond_conv_cfg', 'forward_with_routing',
    'route_once_then_run'
]
