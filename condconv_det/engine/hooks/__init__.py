"""Training hooks; importing registers them in mmengine's root ``HOOKS`` (mmdet's ``HOOKS`` is a child)."""
from .routing_temperature_hook import RoutingTemperatureHook, set_routing_temperature

__all__ = ['RoutingTemperatureHook', 'set_routing_temperature']
