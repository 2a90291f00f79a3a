"""Every config under configs/ (except _base_/) loads, builds, initialises, trains one iteration and validates one
batch on tiny synthetic input. Its name states its experts (``condconv{E}x-``), batch (``{G}xb{B}``) and epochs
(``{N}e``); a CondConv config differs from its static twin only in its CondConv settings; every learning-rate schedule
ends with the training, as mmengine's Runner builds it. Parametrized by globbing the folder, so a new config is
covered without edits."""
import functools
import re
from pathlib import Path
from typing import Any, List, Tuple

import pytest
import torch
from mmengine.config import Config, ConfigDict

from condconv_det.utils import fixed_input_size, without_pretrained

ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = ROOT / 'configs'
# A symbolic link at a config's former name (kept while a running study still uses it) is not a config of its own.
CONFIGS = sorted(p for p in CONFIG_DIR.rglob('*.py')
                 if '_base_' not in p.relative_to(CONFIG_DIR).parts and not p.is_symlink())
CONFIG_IDS = [str(p.relative_to(ROOT)) for p in CONFIGS]
EXPERTS_TAG = re.compile(r'condconv(\d+)x-')
CONDCONV_CONFIGS = [p for p in CONFIGS if EXPERTS_TAG.search(p.stem)]
# Top-level keys in which a CondConv config may differ from its static twin (checked separately below), and the
# plugin's additions to an mmdet config that is the twin (custom_imports and the TrainBatchCheckHook).
CONDCONV_KEYS = {'model', 'optim_wrapper', 'load_from', 'cond_conv_cfg'}
PLUGIN_KEYS = {'custom_imports', 'custom_hooks'}

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


def values_of(node: Any, key: str) -> List[Any]:
    """Every value stored under ``key`` anywhere in a config node."""
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == key] + [x for v in node.values() for x in values_of(v, key)]
    if isinstance(node, (list, tuple)):
        return [x for v in node for x in values_of(v, key)]
    return []


def num_experts(model: dict) -> int:
    """The most experts of any CondConv layer of a model config (0: static)."""
    return max((e for e in values_of(model, 'num_experts') if isinstance(e, int)), default=0)


def without_condconv(node: Any) -> Any:
    """A model config with its CondConv settings removed (``num_experts``, ``conv_cfg``, the ``CondConv`` prefix of
    type names): what a CondConv model and its static twin must share."""
    if isinstance(node, dict):
        return {k: v.replace('CondConv', '') if k == 'type' and isinstance(v, str) else without_condconv(v)
                for k, v in node.items() if k not in ('num_experts', 'conv_cfg')}
    if isinstance(node, (list, tuple)):
        return type(node)(without_condconv(v) for v in node)
    return node


def static_twin_path(config_path: Path) -> str:
    """The static twin's config: the name without its experts tag (``condconv8x-mobilenetv2`` -> ``mobilenetv2``;
    ``condconv4x-fpn-head``, CondConv in FPN and head, -> ``fpn``) and without the recipe tags that only a CondConv
    model has (``-lrmatched``, ``-routinglr10``); mmdet's config of that name where this project ships none (COCO)."""
    stem = re.sub(r'condconv\d+x-fpn-head', 'fpn', config_path.stem)
    stem = re.sub(r'-lrmatched(-routinglr10)?', '', EXPERTS_TAG.sub('', stem))
    local = config_path.with_name(stem + '.py')
    return str(local) if local.is_file() else f'mmdet::{config_path.parent.name}/{stem}.py'


def trained_epochs(cfg: Config) -> int:
    return cfg.train_cfg.max_epochs * cfg.train_dataloader.dataset.get('times', 1)  # RepeatDataset: COCO recipes


@pytest.mark.parametrize('config_path', CONFIGS, ids=CONFIG_IDS)
def test_config_name_states_its_experts_batch_and_epochs(config_path: Path):
    """``condconv{E}x-``: E experts (no tag: static); ``{G}xb{B}``: batch B per device; ``{N}e``: N epochs, the only
    number followed by ``e`` (mmdet's ``_1x_``: 12)."""
    cfg = load_config(config_path)
    experts = num_experts(cfg.model.to_dict())
    assert [int(e) for e in EXPERTS_TAG.findall(config_path.stem)] == ([experts] if experts else [])
    epochs = [int(n) for n in re.findall(r'(?<=[-_])(\d+)e(?=[-_]|$)', config_path.stem)]
    assert epochs == ([] if '_1x_' in config_path.stem else [trained_epochs(cfg)])
    if '_1x_' in config_path.stem:
        assert trained_epochs(cfg) == 12
    batch = re.search(r'_\d+xb(\d+)-', config_path.stem)
    assert batch is None or int(batch.group(1)) == cfg.train_dataloader.batch_size


@pytest.mark.parametrize('config_path', CONDCONV_CONFIGS, ids=[str(p.relative_to(ROOT)) for p in CONDCONV_CONFIGS])
def test_condconv_config_differs_from_its_static_twin_only_in_its_condconv_settings(config_path: Path, tmp_path):
    """Same data, schedule, seed and runtime as the static twin (what every CondConv config's header claims); the
    model equal once its CondConv settings are removed; the optimizer equal but for the CondConv multipliers; a
    checkpoint (the upcycled form of the twin's) exactly where the twin starts from one."""
    twin_path = static_twin_path(config_path)
    if twin_path.startswith('mmdet::'):  # a config of mmdet's, loaded through a base as our COCO configs load it
        (tmp_path / 'twin.py').write_text(f"_base_ = '{twin_path}'\n")
        twin_path = str(tmp_path / 'twin.py')
    cfg, twin = load_config(config_path).to_dict(), Config.fromfile(twin_path).to_dict()
    assert num_experts(twin['model']) == 0 and 'CondConv2d' not in values_of(twin['model'], 'type'), twin_path
    assert without_condconv(cfg['model']) == without_condconv(twin['model'])
    optimizer = {k: v for k, v in cfg['optim_wrapper'].items() if k not in ('constructor', 'paramwise_cfg')}
    assert optimizer == twin['optim_wrapper']
    assert (cfg.get('load_from') is None) == (twin.get('load_from') is None)
    ignored = CONDCONV_KEYS | {'filename'} | (PLUGIN_KEYS if twin_path.endswith('twin.py') else set())
    differing = sorted(k for k in (set(cfg) | set(twin)) - ignored if cfg.get(k) != twin.get(k))
    assert not differing, f'{config_path.name} differs from its static twin {twin_path} in {differing}'


@pytest.mark.parametrize('config_path', CONFIGS, ids=CONFIG_IDS)
def test_learning_rate_schedule_ends_with_the_training(config_path: Path):
    """Every epoch-based scheduler lies within the training and the last ends with it (a scheduler without ``end``
    ends at max_epochs: mmengine's Runner), a cosine decaying to its minimum exactly there."""
    cfg = load_config(config_path)
    max_epochs = cfg.train_cfg.max_epochs
    ends = []
    for scheduler in cfg.param_scheduler:
        if not scheduler.get('by_epoch', True):
            continue  # the iteration-based warm-up
        begin, end = scheduler.get('begin', 0), scheduler.get('end', max_epochs)
        assert 0 <= begin < end <= max_epochs, scheduler
        if scheduler['type'] == 'CosineAnnealingLR':
            assert scheduler.get('T_max') in (None, end - begin), scheduler
        ends.append(end)
    assert max(ends) == max_epochs


@pytest.mark.parametrize('max_epochs', [24, 7])
def test_runner_ends_the_cpu_cosine_schedule_at_max_epochs(max_epochs: int, tmp_path):
    """What the schedule bases rely on: mmengine's Runner gives the cosine scheduler of _base_/schedules/cpu_cosine.py
    (no ``end``, no ``T_max``) end = T_max = train_cfg.max_epochs, also when only max_epochs is overridden."""
    from mmengine.model import BaseModel
    from mmengine.runner import Runner

    class Linear(BaseModel):
        def __init__(self) -> None:
            super().__init__()
            self.linear = torch.nn.Linear(1, 1)

        def forward(self, inputs, data_samples=None, mode='tensor'):
            return dict(loss=self.linear(inputs).sum())

    cfg = load_config(CONFIG_DIR / 'ssdlite' / 'ssdlite_mobilenetv2_1xb8-24e_bccd.py')
    loader = torch.utils.data.DataLoader(torch.zeros(4, 1), batch_size=2)
    runner = Runner(model=Linear(), work_dir=str(tmp_path), train_dataloader=loader,
                    train_cfg=dict(by_epoch=True, max_epochs=max_epochs), optim_wrapper=cfg.optim_wrapper.to_dict(),
                    param_scheduler=[s.to_dict() for s in cfg.param_scheduler], default_scope='mmdet')
    runner._train_loop = runner.build_train_loop(runner._train_loop)
    runner.optim_wrapper = runner.build_optim_wrapper(runner.optim_wrapper)
    warmup, cosine = runner.build_param_scheduler(runner.param_schedulers)
    assert (warmup.by_epoch, warmup.end) == (False, 100)
    assert (type(cosine).__name__, cosine.begin, cosine.end, cosine.T_max) == ('CosineAnnealingLR', 0, max_epochs,
                                                                                max_epochs)


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
