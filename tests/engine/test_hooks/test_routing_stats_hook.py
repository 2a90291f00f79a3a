"""RoutingStatsHook: logs per-stage routing statistics during a short training run of the CondConv SSDLite demo
model, and warns once (with advice) when routing has collapsed."""
import copy
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
import torch.nn as nn
from mmdet.registry import HOOKS
from mmengine.config import Config
from mmengine.logging import MessageHub, MMLogger
from mmengine.registry import MODELS
from mmengine.runner import Runner

import condconv_det.engine.hooks.routing_stats_hook  # noqa: F401  (registers RoutingStatsHook)
from condconv_det.engine.hooks.routing_stats_hook import STAGE_KEYS, RoutingStatsHook
from condconv_det.layers.pooled_routing import PooledLinearRouting

ROOT = Path(__file__).resolve().parents[3]
DEMO_CONDCONV_CONFIG = ROOT / 'configs/ssdlite/ssdlite_condconv8x-mobilenetv2_1xb16-30e_demo.py'


@MODELS.register_module(force=True)  # the root registry, where the plugin's routing functions are built
class ConstantTestRouting(PooledLinearRouting):
    """Collapsed routing: the same vector ``sigmoid(b)`` for every example (trainable bias, ignored input)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.fc.bias).expand(x.shape[0], -1)


def test_hook_is_registered_in_mmdet_hooks():
    hook = HOOKS.build(dict(type='RoutingStatsHook', interval=7))
    assert isinstance(hook, RoutingStatsHook) and hook.interval == 7


class TwoStageModel(nn.Module):

    def __init__(self, constant_head: bool) -> None:
        super().__init__()
        self.backbone = nn.Module()
        self.backbone.layer1 = nn.ModuleList([nn.Module()])
        self.backbone.layer1[0].routing = PooledLinearRoutingSigmoid(3, 4)
        self.head = nn.Module()
        self.head.level_routings = nn.ModuleList([(ConstantTestRouting if constant_head else
                                                   PooledLinearRoutingSigmoid)(3, 4)])

    def forward(self, x: torch.Tensor) -> None:
        self.backbone.layer1[0].routing(x)
        self.head.level_routings[0](x)


class PooledLinearRoutingSigmoid(PooledLinearRouting):

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(5 * self.routing_logits(x))


def fake_runner(model: nn.Module, name: str) -> SimpleNamespace:
    return SimpleNamespace(model=model, iter=0, message_hub=MessageHub.get_instance(name),
                           logger=MMLogger.get_instance(name))


@pytest.mark.parametrize('constant_head', [False, True])
def test_collapse_warning_fires_once_only_for_constant_routing(constant_head, monkeypatch):
    torch.manual_seed(0)
    runner = fake_runner(TwoStageModel(constant_head), f'routing_hook_unit_{constant_head}')
    warnings = []
    monkeypatch.setattr(runner.logger, 'warning', warnings.append)
    hook = RoutingStatsHook(interval=2, collapse_after_iters=1)
    hook.before_train(runner)
    for iteration in range(4):
        runner.iter = iteration
        hook.before_train_iter(runner, iteration)
        runner.model(torch.randn(6, 3, 5, 5))
        hook.after_train_iter(runner, iteration)
    hub = runner.message_hub
    for stage in ('backbone.layer1', 'head.level0'):
        for key in STAGE_KEYS:
            assert f'train/routing/{stage}/{key}' in hub.log_scalars
    # logged at the first iteration and every 2nd: iterations 0, 1, 3
    assert len(hub.log_scalars['train/routing/backbone.layer1/entropy'].data[0]) == 3
    assert hub.get_scalar('train/routing/collapsed_layers').current() == (1 if constant_head else 0)
    if constant_head:  # not at iteration 0 (before collapse_after_iters), once from iteration 1 on
        assert len(warnings) == 1 and 'collapsed in 1/2 routing modules at iter 2' in warnings[0]
        assert 'head.level_routings.0' in warnings[0] and 'decay_mult' in warnings[0]
    else:
        assert warnings == []
    hook.after_train(runner)
    runner.model(torch.randn(2, 3, 5, 5))  # hooks removed: nothing recorded, nothing raised


@pytest.fixture(scope='module')
def tiny_demo(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp('routing_hook_demo')
    subprocess.run([sys.executable, str(ROOT / 'tools/misc/make_demo_dataset.py'), '--out', 'data/demo',
                    '--num-train', '8', '--num-val', '4'], cwd=work, check=True, capture_output=True)
    return work


def test_hook_logs_its_keys_in_a_short_training_run_and_warns_on_the_collapsed_head(tiny_demo, monkeypatch):
    """Two iterations (batch 2) of the demo CondConv SSDLite from scratch, the head's per-level routing constant."""
    monkeypatch.chdir(tiny_demo)
    cfg = Config.fromfile(str(DEMO_CONDCONV_CONFIG))
    cfg.work_dir = str(tiny_demo / 'work')
    cfg.model.bbox_head.routing_cfg = dict(type='ConstantTestRouting')
    cfg.train_dataloader.update(batch_size=2, num_workers=0, persistent_workers=False)
    cfg.train_dataloader.dataset.indices = 4  # two iterations
    cfg.train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=1, val_interval=100)
    cfg.val_dataloader = cfg.val_cfg = cfg.val_evaluator = None
    cfg.test_dataloader = cfg.test_cfg = cfg.test_evaluator = None
    cfg.default_hooks.logger.interval = 1
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=100, save_last=False)
    cfg.custom_hooks = copy.deepcopy(cfg.custom_hooks) + [
        dict(type='RoutingStatsHook', interval=1, collapse_after_iters=0)]
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 2
    hook = next(h for h in runner.hooks if isinstance(h, RoutingStatsHook))
    assert hook.collapse_warned
    scalars = runner.message_hub.log_scalars
    for stage in ('backbone.layer4', 'backbone.layer7', 'backbone.conv2', 'bbox_head.level0', 'bbox_head.level5'):
        for key in STAGE_KEYS:
            assert f'train/routing/{stage}/{key}' in scalars, (stage, key, sorted(scalars))
    assert scalars['train/routing/collapsed_layers'].current() == 6  # the six head levels, not the backbone
    assert 0.0 <= scalars['train/routing/backbone.layer4/entropy'].current() <= 1.0
    log_text = next(Path(runner.log_dir).glob('*.log')).read_text()
    assert 'routing/backbone.layer4/entropy' in log_text  # printed by LoggerHook
    assert log_text.count('routing has collapsed') == 1
