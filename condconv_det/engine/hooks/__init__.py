"""Training hooks; importing registers them in mmdet's ``HOOKS``."""
from .checkpoint_compatibility_hook import CheckpointCompatibilityHook
from .rank_state_dump_hook import RankStateDumpHook
from .routing_stats_hook import RoutingStatsHook
from .routing_temperature_hook import RoutingTemperatureHook, set_routing_temperature
from .train_batch_check_hook import TrainBatchCheckHook

__all__ = [
    'CheckpointCompatibilityHook', 'RankStateDumpHook', 'RoutingStatsHook', 'RoutingTemperatureHook',
    'TrainBatchCheckHook', 'set_routing_temperature'
]
