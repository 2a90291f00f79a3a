"""FillLastBatchSampler: every batch full, the last completed from the epoch's start, on any dataset size; every
config's train loader gets it through mmengine's Runner.build_dataloader (and lists TrainBatchCheckHook)."""
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.dataset import DefaultSampler
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

import condconv_det  # noqa: F401  (registers the sampler and the hook)
from condconv_det.datasets import FillLastBatchSampler

ROOT = Path(__file__).resolve().parents[3]
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
