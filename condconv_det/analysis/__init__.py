"""Analysis tools: CondConv-aware MADDs counting on top of mmengine's flop analyzer."""
from .complexity import (CONDCONV_FLOP_HANDLES, CondConvFlopAnalyzer, condconv_layer_madds, get_madds,
                         get_model_complexity_info)

__all__ = [
    'CONDCONV_FLOP_HANDLES', 'CondConvFlopAnalyzer', 'condconv_layer_madds', 'get_madds', 'get_model_complexity_info'
]
