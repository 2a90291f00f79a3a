"""``TrainBatchCheckHook`` (in the project's ``custom_hooks``): stop a run whose training batches BatchNorm cannot use
(:mod:`condconv_det.utils.train_batch_errors`), naming the layer, the dataset size, the batch size and the fix, at
the first iteration when a later batch will give a BatchNorm layer one value per channel; and refuse a loader with
no iteration per epoch (``drop_last=True`` with fewer images than ``batch_size``).
"""
import math
from typing import Any, Dict

import torch
import torch.nn as nn
from mmdet.registry import HOOKS
from mmengine.dist import get_dist_info
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from condconv_det.utils.train_batch_errors import BATCHNORM_ERROR, FIX_BATCH_OF_ONE, FIX_LAST_BATCH, TrainBatchError

# Batch samplers whose last batch of an epoch holds n % batch_size images (n: indices per rank), when not drop_last.
LAST_BATCH_IS_REMAINDER = ('BatchSampler', 'AspectRatioBatchSampler')


def _loader_sizes(loader: Any) -> Dict[str, Any]:
    """Images (all, per rank), batch size, batch sampler and drop_last of a training DataLoader."""
    batch_sampler = loader.batch_sampler
    sampler = getattr(batch_sampler, 'sampler', loader.sampler)
    try:
        per_rank = len(sampler)
    except TypeError:  # an index sampler without a length
        per_rank = None
    _, world_size = get_dist_info()
    return dict(total=len(loader.dataset), per_rank=per_rank, world_size=world_size,
                batch_size=getattr(batch_sampler, 'batch_size', loader.batch_size),
                drop_last=bool(getattr(batch_sampler, 'drop_last', loader.drop_last)),
                batch_sampler=type(batch_sampler).__name__)


def _describe(sizes: Dict[str, Any]) -> str:
    text = f'training set of {sizes["total"]} image{"s" if sizes["total"] != 1 else ""}'
    if sizes['world_size'] > 1:
        text += f' over {sizes["world_size"]} ranks ({sizes["per_rank"]} per rank)'
    return text + f', batch_size={sizes["batch_size"]}'


@HOOKS.register_module()
class TrainBatchCheckHook(Hook):
    """Stop a run whose training batches BatchNorm cannot use, with the cause and the fix, before PyTorch does.

    ``before_train``: a loader without a single batch per epoch (``drop_last=True`` and fewer images per rank than
    ``batch_size``; an empty training set) raises :class:`TrainBatchError`. During training a forward pre-hook on
    every ``nn.BatchNorm1d/2d/3d`` in training mode raises it when the input has one value per channel (batch 1 at
    1x1), and already at the first iteration when the layer gets one value per channel from each image while the
    loader's last batch will hold one image (mmengine's default batch sampler or mmdet's ``AspectRatioBatchSampler``,
    ``n % batch_size == 1``), instead of an epoch later.
    """

    def __init__(self) -> None:
        self._handles: list = []
        self._sizes: Dict[str, Any] = {}
        self._last_batch_of_one = False

    def before_train(self, runner: Any) -> None:
        sizes = self._sizes = _loader_sizes(runner.train_dataloader)
        if sizes['total'] == 0:
            raise TrainBatchError('the training set is empty (0 images after filter_cfg). Fix: check ann_file and '
                                  'filter_cfg; `python tools/misc/check_dataset.py CONFIG` says what is skipped.')
        per_rank, batch_size = sizes['per_rank'], sizes['batch_size']
        if len(runner.train_dataloader) == 0:
            smaller = f'{per_rank} (>= 2 for SSD/SSDLite)' if (per_rank or 0) > 1 else '1 (not for SSD/SSDLite)'
            raise TrainBatchError(
                f'an epoch has no training iteration: {_describe(sizes)}, and the loader drops the incomplete batch '
                f'(drop_last=True, {sizes["batch_sampler"]}). Fix: '
                "train_dataloader.batch_sampler=dict(type='FillLastBatchSampler') without drop_last (fills the "
                f'batch with repeated images: any dataset size trains), or a batch_size of at most {smaller}.')
        self._last_batch_of_one = (sizes['batch_sampler'] in LAST_BATCH_IS_REMAINDER and not sizes['drop_last']
                                   and batch_size > 1 and per_rank is not None and per_rank % batch_size == 1)
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        for name, module in model.named_modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(module, nn.SyncBatchNorm):
                self._handles.append(module.register_forward_pre_hook(self._checker(name)))

    def _checker(self, name: str):
        def check(module: nn.Module, args: tuple) -> None:
            if not module.training or not args or not isinstance(args[0], torch.Tensor) or args[0].dim() < 2:
                return
            shape = tuple(args[0].shape)
            one_value_per_image = math.prod(shape[2:]) == 1
            if one_value_per_image and (shape[0] == 1 or self._last_batch_of_one):
                raise TrainBatchError(self._message(name, shape))
        return check

    def _message(self, name: str, shape: tuple) -> str:
        sizes = self._sizes
        batch_size, per_rank = sizes['batch_size'], sizes['per_rank']
        layer = (f'BatchNorm layer {name} gets one value per channel from each image (input {shape}): BatchNorm in '
                 'training mode needs more than one')
        if batch_size == 1:
            return f'every training batch holds 1 image ({_describe(sizes)}), and {layer}. Fix: {FIX_BATCH_OF_ONE}.'
        left = (f'{per_rank} = {per_rank // batch_size} x {batch_size} + {per_rank % batch_size}'
                if per_rank is not None else 'an index sampler without a length')
        where = f'({_describe(sizes)}, {sizes["batch_sampler"]}: {left})'
        if shape[0] == 1:
            return (f'this training batch holds 1 image, the incomplete batch at the end of the epoch {where}, and '
                    f'{layer}. Fix: {FIX_LAST_BATCH}.')
        return (f'the last training batch of every epoch will hold 1 image {where}, and {layer}, so training would '
                f'stop there with "{BATCHNORM_ERROR}". Fix: {FIX_LAST_BATCH}.')

    def after_train(self, runner: Any) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
