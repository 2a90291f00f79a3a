"""bf16 autocast on CPU (CPUBF16OptimWrapper): the CondConv demo model trains 200 iterations with finite losses and
weights, with CondConv routing computed in float32 while the convolutions run in bf16.

Scaled for CI (bf16 grouped/depthwise convolutions take a slow per-group path on CPUs without native bf16, about 4x
float32): the demo CondConv SSDLite-MobileNetV2 with all 8 experts in backbone and head, widen_factor 0.25, 64x64
inputs, batch 2, and narrower SSD levels (features from layer5/layer7 instead of layer5/conv2; neck widths
(24, 80, 64, 32, 32, 16) instead of (96, 1280, 512, 256, 256, 128)).
"""
import math

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import condconv_det  # noqa: F401  (CPUBF16OptimWrapper)
from mmdet.models.utils import make_divisible
from reliability_utils import CONDCONV_DEMO

pytestmark = pytest.mark.slow
ITERATIONS = 200


def _small_demo_cfg(work_dir: str) -> Config:
    cfg = Config.fromfile(str(CONDCONV_DEMO))
    cfg.work_dir = work_dir
    cfg.optim_wrapper.type = 'CPUBF16OptimWrapper'
    cfg.train_dataloader.update(batch_size=2, num_workers=0, persistent_workers=False)
    for transform in cfg.train_dataloader.dataset.pipeline:
        if transform['type'] == 'Resize':
            transform['scale'] = (64, 64)
    widths = [make_divisible(96 * 0.25, 8), make_divisible(320 * 0.25, 8)]
    cfg.model.backbone.update(widen_factor=0.25, out_indices=(4, 6))
    cfg.model.neck.in_channels = widths
    cfg.model.neck.out_channels = widths + [64, 32, 32, 16]
    cfg.model.bbox_head.in_channels = cfg.model.neck.out_channels
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=ITERATIONS, val_interval=10 ** 6)
    cfg.param_scheduler = [dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100)]
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger.interval = 50
    cfg.custom_hooks = [dict(type='CheckInvalidLossHook', interval=1)]  # every iteration: stops on NaN/inf
    cfg.randomness = dict(seed=0)
    cfg.log_level = 'WARNING'
    return cfg


def test_condconv_demo_bf16_on_cpu_stays_finite_200_iterations(tiny_demo_dir, monkeypatch):
    monkeypatch.chdir(tiny_demo_dir)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        runner = Runner.from_cfg(_small_demo_cfg(str(tiny_demo_dir / 'amp')))
        dtypes = {}

        def record(name):
            def hook(module, args, output):
                dtypes.setdefault(name, (output.dtype, torch.is_autocast_enabled('cpu')))
            return hook

        routings = [(n, m) for n, m in runner.model.named_modules() if type(m).__name__.endswith('Routing')]
        convs = [(n, m) for n, m in runner.model.named_modules() if type(m).__name__ == 'CondConv2d']
        assert routings and convs
        for name, module in routings + convs:
            module.register_forward_hook(record(name))
        runner.train()
    finally:
        torch.set_num_threads(threads)

    assert all(dtypes[n] == (torch.float32, True) for n, _ in routings), {n: dtypes[n] for n, _ in routings}
    assert all(dtypes[n] == (torch.bfloat16, True) for n, _ in convs)
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    assert len(losses) == ITERATIONS and all(math.isfinite(v) for v in losses)
    assert all(torch.isfinite(p).all() for p in runner.model.parameters())
    assert all(p.dtype == torch.float32 for p in runner.model.parameters())  # master weights stay float32
    print(f'bf16 CPU, {ITERATIONS} iterations: loss {losses[0]:.3f} -> {losses[-1]:.3f}, '
          f'min {min(losses):.3f}, max {max(losses):.3f}')
