"""Training batches of exactly ``batch_size`` images on any dataset size (see
:mod:`condconv_det.utils.train_batch_errors` for why BatchNorm needs them).

``train_dataloader.batch_sampler=dict(type='FillLastBatchSampler')`` (the project's train loaders): every batch holds
``batch_size`` images; the last one is completed with the first images of the epoch's order. Unlike
``drop_last=True`` it trains every image each epoch and it trains a set smaller than one batch (one image, or fewer
images than DDP ranks) instead of running epochs without an iteration; the number of iterations per epoch is
mmengine's default, ``ceil(n / batch_size)``.
"""
import itertools
import math
from typing import Iterator, List

from mmdet.registry import DATA_SAMPLERS
from torch.utils.data import BatchSampler, Sampler


@DATA_SAMPLERS.register_module()
class FillLastBatchSampler(BatchSampler):
    """Batches of exactly ``batch_size`` indices; the last, incomplete one is filled with the epoch's first indices.

    With ``n`` indices from ``sampler`` an epoch has ``ceil(n / batch_size)`` batches, every index appears at least
    once and ``(-n) % batch_size`` indices twice; ``n < batch_size`` repeats the indices cyclically (one image: a
    batch of copies, each augmented on its own). ``set_epoch`` reaches ``sampler`` through mmengine's
    ``DistSamplerSeedHook`` as for any batch sampler.

    Args:
        sampler (Sampler): the index sampler (mmengine's ``DefaultSampler``: shuffled, split across ranks).
        batch_size (int): images per batch.
    """

    def __init__(self, sampler: Sampler, batch_size: int) -> None:
        super().__init__(sampler, batch_size, drop_last=False)

    def __iter__(self) -> Iterator[List[int]]:
        batch: List[int] = []
        first: List[int] = []
        for index in self.sampler:
            if len(first) < self.batch_size:
                first.append(index)
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch:
            yield batch + list(itertools.islice(itertools.cycle(first), self.batch_size - len(batch)))

    def __len__(self) -> int:
        return math.ceil(len(self.sampler) / self.batch_size)
