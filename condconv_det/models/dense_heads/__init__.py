from .cond_conv_ssd_head import CondConvSSDHead

__all__ = ['CondConvSSDHead']
