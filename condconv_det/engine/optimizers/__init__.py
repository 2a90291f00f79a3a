"""Optimizer wrappers and their constructors; importing registers them in mmdet's ``OPTIM_WRAPPERS`` /
``OPTIM_WRAPPER_CONSTRUCTORS``."""
from .condconv_optim_wrapper_constructor import CondConvOptimWrapperConstructor
from .cpu_bf16_optim_wrapper import CPUBF16OptimWrapper

__all__ = ['CPUBF16OptimWrapper', 'CondConvOptimWrapperConstructor']
