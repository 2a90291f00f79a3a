"""The CondConv SSDLite detector on every device (``device``: CPU, and CUDA when present): a training step updates
the experts and the routing; fp16 autocast with a gradient scaler (what ``--amp`` does) keeps the routing in float32
and trains 50 steps with finite losses and weights; channels_last gives the contiguous model's outputs and trains.

A narrow model (widen_factor 0.25, 64x64 images, batch 2; as tests/reliability/test_amp.py) keeps the CPU runs short;
every CondConv of the demo config is there (8 experts in the backbone's late stages and the head's towers).
"""
import copy
import math
from pathlib import Path

import pytest
import torch
from mmdet.models.utils import make_divisible
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmdet.utils import register_all_modules
from mmengine.config import Config
from mmengine.optim import OptimWrapper

from condconv_det.layers import CondConv2d

ROOT = Path(__file__).resolve().parents[2]
CONDCONV_DEMO = ROOT / 'configs/ssdlite/ssdlite_condconv8x-mobilenetv2_1xb16-30e_demo.py'
AMP_STEPS = 50


@pytest.fixture(scope='module', autouse=True)
def mmdet_scope():
    register_all_modules(init_default_scope=True)


def narrow_condconv_ssdlite(device: str) -> torch.nn.Module:
    cfg = Config.fromfile(str(CONDCONV_DEMO)).model
    widths = [make_divisible(96 * 0.25, 8), make_divisible(320 * 0.25, 8)]
    cfg.backbone.update(widen_factor=0.25, out_indices=(4, 6))
    cfg.neck.in_channels = widths
    cfg.neck.out_channels = widths + [64, 32, 32, 16]
    cfg.bbox_head.in_channels = cfg.neck.out_channels
    torch.manual_seed(0)
    model = MODELS.build(cfg)
    model.init_weights()
    return model.to(device)


def synthetic_batch(batch_size: int = 2, size: int = 64) -> dict:
    return demo_mm_inputs(batch_size=batch_size, image_shapes=(3, size, size), num_items=[3] * batch_size,
                          num_classes=3)


def routing_and_condconv_modules(model):
    routings = [(n, m) for n, m in model.named_modules() if type(m).__name__.endswith('Routing')]
    convs = [(n, m) for n, m in model.named_modules() if isinstance(m, CondConv2d)]
    assert routings and convs
    return routings, convs


def test_train_step_updates_experts_and_routing(device):
    model = narrow_condconv_ssdlite(device).train()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9))
    log = model.train_step(synthetic_batch(), wrapper)
    assert math.isfinite(float(log['loss']))
    _, convs = routing_and_condconv_modules(model)
    assert all(conv.weight.device.type == device for _, conv in convs)
    changed = {n for n, p in model.named_parameters() if not torch.equal(p.detach(), before[n])}
    assert any('.routing.' in n for n in changed)
    # the backbone's CondConv stages and the head's first level (the later levels and conv2 after the last
    # out index may get no gradient from 3 small boxes)
    trained = {name for name, _ in convs if name.startswith('backbone.layer') or '_convs.0.' in name}
    assert len(trained) > 4 and all(f'{name}.weight' in changed for name in trained)


def test_fp16_autocast_keeps_routing_float32_and_trains_50_steps(device):
    model = narrow_condconv_ssdlite(device).train()
    routings, convs = routing_and_condconv_modules(model)
    dtypes = {}
    for name, module in routings + convs:
        module.register_forward_hook(lambda module, args, out, name=name: dtypes.setdefault(name, out.dtype) and None)
    data = model.data_preprocessor(synthetic_batch(), True)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    scaler = torch.amp.GradScaler(device)
    losses = []
    for _ in range(AMP_STEPS):
        with torch.autocast(device, dtype=torch.float16):
            loss, _ = model.parse_losses(model.loss(data['inputs'], data['data_samples']))
        optimizer.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()
        losses.append(float(loss))
    assert all(dtypes[name] == torch.float32 for name, _ in routings), dtypes
    assert all(dtypes[name] == torch.float16 for name, _ in convs), dtypes
    assert all(math.isfinite(value) for value in losses), losses
    assert losses[-1] < losses[0]
    assert all(torch.isfinite(p).all() and p.dtype == torch.float32 for p in model.parameters())
    assert scaler.get_scale() > 0


def test_channels_last_gives_the_same_outputs_and_trains(device):
    model = narrow_condconv_ssdlite(device).eval()
    inputs = model.data_preprocessor(synthetic_batch(), False)['inputs']
    channels_last = copy.deepcopy(model).to(memory_format=torch.channels_last)
    with torch.no_grad():
        expected = model._forward(inputs)
        actual = channels_last._forward(inputs.contiguous(memory_format=torch.channels_last))
    for want_level, got_level in zip(expected, actual):
        for want, got in zip(want_level, got_level):
            torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    channels_last.train()
    wrapper = OptimWrapper(torch.optim.SGD(channels_last.parameters(), lr=0.01))
    assert math.isfinite(float(channels_last.train_step(synthetic_batch(), wrapper)['loss']))
