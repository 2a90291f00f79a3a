"""Training batches that BatchNorm cannot use: :class:`TrainBatchError`, the fixes, and PyTorch's error explained.

In training mode BatchNorm needs more than one value per channel. A batch of one image at a 1x1 feature map (the
last extra layers of SSD/SSDLite) has exactly one, and PyTorch stops with ``Expected more than 1 value per channel
when training``. mmengine's default loader ends each epoch with ``n % batch_size`` images, so every training set
of ``n ≡ 1 (mod batch_size)`` images (per rank) crashed these models in the first epoch. The project's train loaders
avoid it with :class:`~condconv_det.datasets.samplers.FillLastBatchSampler`;
:class:`~condconv_det.engine.hooks.TrainBatchCheckHook` names the cause and the fix at the first iteration for a
loader of one's own, and :func:`explain_batchnorm_error` gives the same explanation, without the sizes, for a run
without the hook (``tools/train.py`` adds it to PyTorch's message).
"""
from typing import Optional

BATCHNORM_ERROR = 'Expected more than 1 value per channel when training'
FIX_LAST_BATCH = ("train_dataloader.batch_sampler=dict(type='FillLastBatchSampler') (as the project's configs: "
                  'the last batch is completed with images from the start of the epoch, so any dataset size trains), '
                  'or train_dataloader.drop_last=True with batch_sampler=None (an epoch then needs at least '
                  'batch_size images per rank)')
FIX_BATCH_OF_ONE = ('set train_dataloader.batch_size >= 2 (with FillLastBatchSampler a training set of one image '
                    'fills the batch with augmented copies of it)')


class TrainBatchError(ValueError):
    """A training batch BatchNorm cannot use, or a loader without any batch; names the sizes and the fix."""


def explain_batchnorm_error(error: BaseException) -> Optional[str]:
    """The cause and the fix of PyTorch's BatchNorm error (``None`` for any other error), for a run without
    :class:`~condconv_det.engine.hooks.TrainBatchCheckHook`."""
    if isinstance(error, TrainBatchError) or BATCHNORM_ERROR not in str(error):
        return None
    return (f'{error}: a training batch of 1 image reached a BatchNorm layer at a 1x1 feature map (SSD/SSDLite '
            "extra layers), where BatchNorm has no batch statistics. The default loader's last batch holds 1 image "
            'when the training set (per rank) has n images with n % batch_size == 1. '
            f'Fix: {FIX_LAST_BATCH}; with train_dataloader.batch_size=1: {FIX_BATCH_OF_ONE}. '
            "custom_hooks=[dict(type='TrainBatchCheckHook')] names the layer and the sizes at the first iteration.")
