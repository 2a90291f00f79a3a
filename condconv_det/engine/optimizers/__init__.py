"""Optimizer wrapper constructors; importing registers them in mmengine's root ``OPTIM_WRAPPER_CONSTRUCTORS``."""
from .condconv_optim_wrapper_constructor import CondConvOptimWrapperConstructor

__all__ = ['CondConvOptimWrapperConstructor']
