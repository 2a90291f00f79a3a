"""Every config under configs/ (except _base_/) loads, builds, initialises, trains one iteration and validates one
batch on tiny synthetic input. Parametrized by globbing the folder, so a new config is covered without edits."""
import functools
from pathlib import Path
from typing import List, Tuple

import pytest
import torch
from mmengine.config import Config, ConfigDict

from condconv_det.utils import fixed_input_size, without_pretrained

ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = ROOT / 'configs'
CONFIGS = sorted(p for p in CONFIG_DIR.rglob('*.py') if '_base_' not in p.relative_to(CONFIG_DIR).parts)
CONFIG_IDS = [str(p.relative_to(ROOT)) for p in CONFIGS]

# ResNet-50 detectors are big: one small image; the mobile SSDs run two images at their own input size.
RESNET_IMAGE_SIZE = 128
FALLBACK_IMAGE_SIZE = 160
NUM_CLASSES_IN_BATCH = 3  # labels drawn below 3: valid for every config (3-class BCCD/demo, 80-class COCO)


@functools.lru_cache(maxsize=None)
def load_config(config_path: Path) -> Config:
    """``Config.fromfile`` once per file (it imports ``custom_imports``, i.e. condconv_det); callers must not mutate."""
    return Config.fromfile(str(config_path))


def pipeline_image_size(cfg: Config) -> Tuple[int, int]:
    """(H, W) of the test pipeline's fixed-size ``Resize`` (the SSDs' input size), else a small square."""
    return fixed_input_size(cfg) or (FALLBACK_IMAGE_SIZE, FALLBACK_IMAGE_SIZE)


def tiny_batch(cfg: Config) -> dict:
    """Synthetic images with random boxes: 1 image of 128 px for ResNet detectors, else 2 at the input size."""
    from mmdet.testing import demo_mm_inputs
    if 'ResNet' in cfg.model.backbone.type:
        batch_size, (height, width) = 1, (RESNET_IMAGE_SIZE, RESNET_IMAGE_SIZE)
    else:
        batch_size, (height, width) = 2, pipeline_image_size(cfg)
    return demo_mm_inputs(
        batch_size=batch_size, image_shapes=(3, height, width), num_items=[3] * batch_size,
        num_classes=NUM_CLASSES_IN_BATCH)


def hook_types(cfg: Config) -> List[str]:
    return [hook['type'] for hook in cfg.get('custom_hooks', [])]


def test_configs_found():
    assert len(CONFIGS) >= 10, CONFIGS


@pytest.mark.parametrize('config_path', CONFIGS, ids=CONFIG_IDS)
def test_config_conventions(config_path: Path):
    """Header comment, the plugin imported through custom_imports, and mmdet's CheckInvalidLossHook."""
    assert config_path.read_text().startswith('#'), 'a config starts with a comment saying what it reproduces'
    cfg = load_config(config_path)
    assert 'condconv_det' in cfg.custom_imports['imports']
    assert cfg.custom_imports.get('allow_failed_imports') is False
    assert 'CheckInvalidLossHook' in hook_types(cfg)


@pytest.mark.parametrize('config_path', CONFIGS, ids=CONFIG_IDS)
def test_config_pipelines_load_local_data(config_path: Path, monkeypatch):
    """Where the config's data is present (data/demo, data/bccd), its train and val pipelines load a sample."""
    from mmengine.registry import init_default_scope
    from mmdet.registry import DATASETS
    monkeypatch.chdir(ROOT)  # data roots are relative to the repository
    cfg = load_config(config_path)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    for loader in ('train_dataloader', 'val_dataloader'):
        dataset_cfg = cfg[loader].dataset.to_dict()
        inner = dataset_cfg.get('dataset', dataset_cfg)  # RepeatDataset & co.
        ann_file = Path(inner.get('data_root', '')) / inner['ann_file']
        if not ann_file.is_file():
            pytest.skip(f'{ann_file} not present')
        sample = DATASETS.build(dataset_cfg)[0]
        assert sample['inputs'].dim() == 3 and sample['inputs'].shape[0] == 3
        assert len(sample['data_samples'].gt_instances) > 0


@pytest.mark.parametrize('config_path', CONFIGS, ids=CONFIG_IDS)
def test_config_builds_trains_and_validates(config_path: Path):
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmdet.registry import MODELS

    cfg = load_config(config_path)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    torch.manual_seed(0)
    model = MODELS.build(ConfigDict(without_pretrained(cfg.model.to_dict())))
    model.init_weights()
    data = tiny_batch(cfg)

    model.train()
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    log_vars = model.train_step(data, optim_wrapper)
    assert torch.isfinite(log_vars['loss']), log_vars

    model.eval()
    with torch.no_grad():
        results = model.val_step(data)
    assert len(results) == len(data['inputs'])
    for result in results:
        bboxes = result.pred_instances.bboxes
        assert bboxes.dim() == 2 and bboxes.shape[1] == 4
        assert torch.isfinite(bboxes).all()
