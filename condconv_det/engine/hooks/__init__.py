"""Training hooks; importing registers them (RoutingTemperatureHook in mmengine's root ``HOOKS``, RoutingStatsHook in
mmdet's ``HOOKS``)."""
from .routing_stats_hook import RoutingStatsHook
from .routing_temperature_hook import RoutingTemperatureHook, set_routing_temperature

__all__ = ['RoutingStatsHook', 'RoutingTemperatureHook', 'set_routing_temperature']
