"""Reliability: dataset/checkpoint validation with clear messages, training batches on any dataset size, CPU
distributed training, rank checks."""
from .amp import CPUBF16OptimWrapper
from .annotation_checks import (CheckReport, DatasetCheckError, check_coco_annotations, check_coco_file,
                                load_coco_json)
from .checked_coco_dataset import CheckedCocoDataset, ImageLoadError
from .checkpoint_checks import (CheckpointCheckError, CheckpointCompatibilityHook, check_checkpoint_matches,
                                load_checkpoint_file)
from .distributed import CPUDDPRunner, RankStateDumpHook
from .train_batches import FillLastBatchSampler, TrainBatchCheckHook, TrainBatchError, explain_batchnorm_error

__all__ = [
    'CPUBF16OptimWrapper', 'CheckReport', 'DatasetCheckError', 'check_coco_annotations', 'check_coco_file',
    'load_coco_json', 'CheckedCocoDataset', 'ImageLoadError', 'CheckpointCheckError', 'CheckpointCompatibilityHook',
    'check_checkpoint_matches', 'load_checkpoint_file', 'CPUDDPRunner', 'RankStateDumpHook', 'FillLastBatchSampler',
    'TrainBatchCheckHook', 'TrainBatchError', 'explain_batchnorm_error'
]
