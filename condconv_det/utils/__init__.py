"""Helpers shared by the package and the tools: running mmdet's tools, config helpers, checks of configs and
checkpoints, the training-batch errors."""
from .checkpoint_checks import (CheckpointCheckError, check_checkpoint_matches, compare_state_dicts,
                                load_checkpoint_file, state_dict_of)
from .config_checks import check_config, check_custom_imports, dataset_paths, plugin_types
from .config_utils import fixed_input_size, without_pretrained
from .cpu_allocator import tune_glibc_malloc
from .mmdet_tools import mmdet_tool_path, run_mmdet_tool
from .train_batch_errors import TrainBatchError, explain_batchnorm_error

__all__ = [
    'CheckpointCheckError', 'TrainBatchError', 'check_checkpoint_matches', 'check_config', 'check_custom_imports',
    'compare_state_dicts', 'dataset_paths', 'explain_batchnorm_error', 'fixed_input_size', 'load_checkpoint_file',
    'mmdet_tool_path', 'plugin_types', 'run_mmdet_tool', 'state_dict_of', 'tune_glibc_malloc', 'without_pretrained'
]
