"""Checkpoint utilities: static → CondConv upcycling, key converters, deploy-time collapse of routing."""
from .collapse_routing import (CollapsedCondConv2d, ExpertSubsetRouting, RemovedRouting, RoutingConsumers,
                               apply_collapse_plan, build_routing_collapsed_model, calibrate_routing,
                               check_tolerance, config_plan, plan_collapse)
from .torchvision_mobilenet_v2 import convert_torchvision_mobilenet_v2
from .upcycle import init_constant_routing, upcycle_model, upcycle_state_dict

__all__ = [
    'upcycle_state_dict', 'upcycle_model', 'init_constant_routing', 'convert_torchvision_mobilenet_v2',
    'CollapsedCondConv2d', 'ExpertSubsetRouting', 'RemovedRouting', 'RoutingConsumers', 'calibrate_routing',
    'check_tolerance', 'plan_collapse', 'config_plan', 'apply_collapse_plan', 'build_routing_collapsed_model'
]
