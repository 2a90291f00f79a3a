"""CondConv layers (Yang et al., NeurIPS 2019); importing registers them in mmengine's root ``MODELS`` registry,
which mmcv's ``build_conv_layer`` and mmdet's ``MODELS`` (a child) both search."""
from .cond_conv2d import CondConv2d
from .routing_builder import build_routing
from .sigmoid_routing import SigmoidRouting
from .softmax_routing import SoftmaxRouting
from .strategies import STRATEGIES
from .strategy_dispatch import select_strategy

__all__ = ['CondConv2d', 'SigmoidRouting', 'SoftmaxRouting', 'build_routing', 'STRATEGIES', 'select_strategy']
