"""Datasets, their checks and batch samplers; importing registers ``CheckedCocoDataset`` and ``FillLastBatchSampler``
in mmdet's ``DATASETS`` / ``DATA_SAMPLERS``."""
from .annotation_checks import CHECK_IMAGE_MODES, check_coco_annotations, check_coco_file, load_coco_json
from .check_report import CheckReport, DatasetCheckError
from .checked_coco_dataset import CheckedCocoDataset, ImageLoadError
from .samplers import FillLastBatchSampler

__all__ = [
    'CHECK_IMAGE_MODES', 'CheckReport', 'CheckedCocoDataset', 'DatasetCheckError', 'FillLastBatchSampler',
    'ImageLoadError', 'check_coco_annotations', 'check_coco_file', 'load_coco_json'
]
