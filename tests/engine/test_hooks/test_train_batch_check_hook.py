"""Training batches on any dataset size (issue 14), in-process and small: FillLastBatchSampler's batches, the
TrainBatchCheckHook's messages on a toy BatchNorm model, the explanation tools/train.py adds to PyTorch's error,
the validation notes of the annotation check, and that every config's train loader passes the sampler through
mmengine's Runner.build_dataloader. Whole runs through tools/: test_dataset_sizes.py."""
import re
import types

import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.dataset import DefaultSampler
from mmengine.registry import init_default_scope
from mmengine.runner import Runner
from torch.utils.data import BatchSampler, DataLoader

import condconv_det  # noqa: F401  (registers the sampler and the hook)
from condconv_det.reliability import (FillLastBatchSampler, TrainBatchCheckHook, TrainBatchError, check_coco_file,
                                      explain_batchnorm_error)
from condconv_det.reliability import train_batches
from reliability_utils import ROOT
from test_bad_inputs import CLASSES, _coco, _write

CONFIGS = sorted(p for p in (ROOT / 'configs').rglob('*.py') if '_base_' not in p.parts)


@pytest.mark.parametrize('num_images, batch_size', [(25, 8), (16, 8), (5, 8), (1, 8), (3, 1)])
def test_fill_last_batch_sampler_completes_the_last_batch_from_the_epoch_start(num_images, batch_size):
    sampler = DefaultSampler(list(range(num_images)), shuffle=True, seed=0)
    batches = list(FillLastBatchSampler(sampler, batch_size))
    order = list(sampler)
    assert len(batches) == len(FillLastBatchSampler(sampler, batch_size)) == -(-num_images // batch_size)
    assert all(len(batch) == batch_size for batch in batches)
    flat = [index for batch in batches for index in batch]
    assert flat[:num_images] == order  # every image once, in the sampler's order ...
    assert flat[num_images:] == [order[i % num_images] for i in range(len(flat) - num_images)]  # ... then its start
    sampler.set_epoch(1)  # mmengine's DistSamplerSeedHook reaches the sampler through batch_sampler.sampler
    assert [i for b in FillLastBatchSampler(sampler, batch_size) for i in b][:num_images] == list(sampler)


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
    monkeypatch.setattr(train_batches, 'get_dist_info', lambda: (1, 2))
    sampler = DefaultSampler([0], shuffle=True, seed=0)
    model = _bn_model()
    hook = _started(DataLoader([0], batch_size=2, sampler=sampler), model)
    with pytest.raises(TrainBatchError, match=re.escape('(training set of 1 image over 2 ranks (1 per rank), '
                                                        'batch_size=2, BatchSampler: 1 = 0 x 2 + 1)')):
        model(torch.zeros(1, 3, 1, 1))
    hook.after_train(None)
    _started(DataLoader([0], batch_sampler=FillLastBatchSampler(sampler, 2)), model)
    model(torch.zeros(2, 3, 1, 1))


def test_batchnorm_error_without_the_hook_is_explained():
    with pytest.raises(ValueError) as error:
        nn.BatchNorm2d(4).train()(torch.zeros(1, 4, 1, 1))
    explanation = explain_batchnorm_error(error.value)
    assert explanation.startswith('Expected more than 1 value per channel when training, got input size '
                                  'torch.Size([1, 4, 1, 1]): a training batch of 1 image reached a BatchNorm layer at '
                                  'a 1x1 feature map'), explanation
    assert 'n % batch_size == 1' in explanation
    assert "Fix: train_dataloader.batch_sampler=dict(type='FillLastBatchSampler')" in explanation
    assert explain_batchnorm_error(ValueError('another problem')) is None
    assert explain_batchnorm_error(TrainBatchError(explanation)) is None


def _train_loader_batches(cfg: Config, num_images: int) -> list:
    """Sizes of the batches of an epoch of the config's train loader, built by mmengine over ``num_images`` items."""
    loader_cfg = cfg.train_dataloader.to_dict()
    loader_cfg.update(dataset=list(range(num_images)), batch_size=8, num_workers=0, persistent_workers=False)
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    assert isinstance(loader.batch_sampler, FillLastBatchSampler), loader.batch_sampler
    return [len(batch) for batch in loader.batch_sampler]


@pytest.mark.parametrize('config', CONFIGS, ids=[p.name for p in CONFIGS])
def test_every_config_trains_on_any_dataset_size(config):
    cfg = Config.fromfile(str(config))
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    assert 'TrainBatchCheckHook' in [hook['type'] for hook in cfg.custom_hooks]
    if (cfg.train_dataloader.batch_sampler or {}).get('type') == 'AspectRatioBatchSampler':
        # mmdet's COCO loader, kept by the ResNet-FPN COCO recipes: ResNet's BatchNorm (frozen by norm_eval) sees
        # a 25x42 map at stride 32 of their 1333x800 inputs, never 1x1, so a last batch of one image trains.
        assert 'ResNet' in cfg.model.backbone.type and cfg.model.backbone.get('norm_eval', True), config.name
        return
    for num_images in (1, 5, 25):
        assert _train_loader_batches(cfg, num_images) == [8] * -(-num_images // 8), num_images


def test_validation_notes_name_images_and_classes_without_boxes(tmp_path):
    data = _coco(4)
    data['annotations'] = data['annotations'][:2]  # images 3 and 4 have no box; only the class 'circle' has boxes
    report = check_coco_file(str(_write(tmp_path, data)), str(tmp_path / 'img'), CLASSES, test_mode=True)
    assert report.ok and not report.skips, report.summary()
    assert report.notes == {'eval_image_without_boxes': 2, 'eval_class_without_boxes': 2}, report.summary()
    text = report.summary()
    assert ("note: 2 classes without any box in this validation/test file (left out of COCO's mAP, which averages "
            "over the classes present; their per-class AP is nan) (e.g. 'triangle'; 'rectangle')") in text
    assert 'note: 2 validation/test images without any box (evaluated as background' in text
    data['annotations'] = []
    report = check_coco_file(str(_write(tmp_path, data, images=False)), test_mode=True)
    assert report.ok and report.notes == {'eval_image_without_boxes': 4, 'eval_file_without_boxes': 1}
    assert 'validation/test files without a single box (COCO mAP is -1, i.e. undefined' in report.summary()
