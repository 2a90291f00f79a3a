"""TrainBatchCheckHook on a toy BatchNorm model: it names the batch BatchNorm cannot use (the last batch of one image,
a batch size of one, an epoch without iterations, a rank's share) and the fix, before PyTorch does. Whole runs
through tools/: tests/reliability/test_dataset_sizes.py."""
import re
import types

import pytest
import torch
import torch.nn as nn
from mmengine.dataset import DefaultSampler
from torch.utils.data import BatchSampler, DataLoader

from condconv_det.datasets import FillLastBatchSampler
from condconv_det.engine.hooks import TrainBatchCheckHook, train_batch_check_hook
from condconv_det.utils import TrainBatchError


def _bn_model() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4)).train()


def _started(loader: DataLoader, model: nn.Module) -> TrainBatchCheckHook:
    hook = TrainBatchCheckHook()
    hook.before_train(types.SimpleNamespace(train_dataloader=loader, model=model))
    return hook


def test_hook_stops_at_the_first_iteration_when_the_last_batch_will_hold_one_image():
    model = _bn_model()
    hook = _started(DataLoader(list(range(25)), batch_size=8), model)
    model(torch.zeros(8, 3, 2, 2))  # 4 values per channel per image: a last batch of one is fine here
    with pytest.raises(TrainBatchError) as error:
        model(torch.zeros(8, 3, 1, 1))  # a full batch, but the epoch's last one will be (1, 4, 1, 1)
    message = str(error.value)
    assert message.startswith('the last training batch of every epoch will hold 1 image (training set of 25 images, '
                              'batch_size=8, BatchSampler: 25 = 3 x 8 + 1), and BatchNorm layer 1 gets one value per '
                              'channel from each image (input (8, 4, 1, 1))'), message
    assert "Fix: train_dataloader.batch_sampler=dict(type='FillLastBatchSampler')" in message
    assert 'or train_dataloader.drop_last=True with batch_sampler=None' in message
    hook.after_train(None)
    model(torch.zeros(8, 3, 1, 1))  # the pre-hooks are removed after training
    model.eval()(torch.zeros(1, 3, 1, 1))


def test_hook_accepts_the_filled_and_the_dropped_last_batch():
    model = _bn_model()
    for loader in (DataLoader(list(range(25)), batch_sampler=FillLastBatchSampler(range(25), 8)),
                   DataLoader(list(range(25)), batch_size=8, drop_last=True),
                   DataLoader(list(range(24)), batch_size=8)):
        hook = _started(loader, model)
        model(torch.zeros(8, 3, 1, 1))
        hook.after_train(None)


class _OwnBatchSampler(BatchSampler):
    """A batch sampler the hook knows nothing about, whose second batch holds one image."""

    def __iter__(self):
        yield from ([0, 1], [2])

    def __len__(self):
        return 2


def test_hook_names_a_batch_of_one_image_when_it_comes():
    model = _bn_model()
    _started(DataLoader(list(range(3)), batch_sampler=_OwnBatchSampler(range(3), 2, False)), model)
    model(torch.zeros(2, 3, 1, 1))
    with pytest.raises(TrainBatchError, match=re.escape(
            'this training batch holds 1 image, the incomplete batch at the end of the epoch (training set of 3 '
            'images, batch_size=2, _OwnBatchSampler: 3 = 1 x 2 + 1), and BatchNorm layer 1 gets one value per channel '
            'from each image (input (1, 4, 1, 1)): BatchNorm in training mode needs more than one. Fix: ')):
        model(torch.zeros(1, 3, 1, 1))


def test_hook_says_batch_size_one_cannot_train_batchnorm_at_1x1():
    model = _bn_model()
    _started(DataLoader([0], batch_size=1), model)
    with pytest.raises(TrainBatchError, match=re.escape(
            'every training batch holds 1 image (training set of 1 image, batch_size=1), and BatchNorm layer 1 gets '
            'one value per channel from each image (input (1, 4, 1, 1)): BatchNorm in training mode needs more than '
            'one. Fix: set train_dataloader.batch_size >= 2')):
        model(torch.zeros(1, 3, 1, 1))


@pytest.mark.parametrize('num_images, smaller', [(5, 'a batch_size of at most 5 (>= 2 for SSD/SSDLite)'),
                                                 (1, 'a batch_size of at most 1 (not for SSD/SSDLite)')])
def test_hook_refuses_an_epoch_without_iterations(num_images, smaller):
    loader = DataLoader(list(range(num_images)), batch_size=8, drop_last=True)
    with pytest.raises(TrainBatchError) as error:
        _started(loader, _bn_model())
    message = str(error.value)
    assert message.startswith(f'an epoch has no training iteration: training set of {num_images} image'), message
    assert 'batch_size=8, and the loader drops the incomplete batch (drop_last=True, BatchSampler)' in message
    assert "Fix: train_dataloader.batch_sampler=dict(type='FillLastBatchSampler') without drop_last" in message
    assert message.endswith(f'or {smaller}.')
    with pytest.raises(TrainBatchError, match=r'the training set is empty \(0 images after filter_cfg\)'):
        _started(DataLoader([], batch_size=8), _bn_model())


def test_hook_gives_the_share_of_each_rank(monkeypatch):
    # 1 image on 2 ranks: mmengine's DefaultSampler gives each rank that image, a batch of 2 gets 1 per rank.
    import mmengine.dataset.sampler
    monkeypatch.setattr(mmengine.dataset.sampler, 'get_dist_info', lambda: (1, 2))
    monkeypatch.setattr(train_batch_check_hook, 'get_dist_info', lambda: (1, 2))
    sampler = DefaultSampler([0], shuffle=True, seed=0)
    model = _bn_model()
    hook = _started(DataLoader([0], batch_size=2, sampler=sampler), model)
    with pytest.raises(TrainBatchError, match=re.escape('(training set of 1 image over 2 ranks (1 per rank), '
                                                        'batch_size=2, BatchSampler: 1 = 0 x 2 + 1)')):
        model(torch.zeros(1, 3, 1, 1))
    hook.after_train(None)
    _started(DataLoader([0], batch_sampler=FillLastBatchSampler(sampler, 2)), model)
    model(torch.zeros(2, 3, 1, 1))
