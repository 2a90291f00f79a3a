"""Batch samplers; importing registers them in mmdet's ``DATA_SAMPLERS``."""
from .fill_last_batch_sampler import FillLastBatchSampler

__all__ = ['FillLastBatchSampler']
