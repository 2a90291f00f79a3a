"""Checkpoint utilities: static → CondConv upcycling and key converters."""
from .torchvision_mobilenet_v2 import convert_torchvision_mobilenet_v2
from .upcycle import init_constant_routing, upcycle_model, upcycle_state_dict

__all__ = ['upcycle_state_dict', 'upcycle_model', 'init_constant_routing', 'convert_torchvision_mobilenet_v2']
