"""Acceptance tests of the five CondConv backbones: build, documented shapes, training, freezing, validation,
equivalence with the static twin, and drop-in parity with mmdet's MobileNetV2 / ResNet."""
import copy

import pytest
import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm

import condconv_det  # noqa: F401
from condconv_det.layers import CondConv2d
from mmdet.registry import MODELS



TINY = {
    'CondConvMobileNetV1': dict(widen_factor=0.25),
    'CondConvMobileNetV2': dict(widen_factor=0.25),
    'CondConvMnasNet': dict(widen_factor=0.25),
    'CondConvEfficientNet': dict(widen_factor=0.25),
    'CondConvResNet': dict(depth=50, base_channels=8, stem_channels=8, norm_eval=False),
}
ARCHS = list(TINY)

# documented (channels, stride) of every out index at widen_factor 1
DOCUMENTED = {
    'CondConvMobileNetV1': [(64, 2), (128, 4), (256, 8), (512, 16), (1024, 32)],
    'CondConvMobileNetV2': [(16, 2), (24, 4), (32, 8), (64, 16), (96, 16), (160, 32), (320, 32), (1280, 32)],
    'CondConvMnasNet': [(16, 2), (24, 4), (40, 8), (80, 16), (112, 16), (160, 32), (320, 32), (1280, 32)],
    'CondConvEfficientNet': [(16, 2), (24, 4), (40, 8), (80, 16), (112, 16), (192, 32), (320, 32), (1280, 32)],
    'CondConvResNet': [(256, 4), (512, 8), (1024, 16), (2048, 32)],
}


def build(name, **kwargs):
    cfg = dict(type=name, **TINY[name])
    cfg.update(kwargs)
    return MODELS.build(cfg)


def randomize_bn(model: nn.Module, seed: int = 0) -> None:
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)


@pytest.mark.parametrize('name', ARCHS)
def test_documented_feature_shapes_full_width(name):
    """Every out index has the documented channels and stride (full width; 2 experts to stay light)."""
    num_outs = len(DOCUMENTED[name])
    kwargs = dict(depth=50) if name == 'CondConvResNet' else {}
    model = MODELS.build(dict(type=name, num_experts=2, out_indices=tuple(range(num_outs)), **kwargs)).eval()
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 64, 64))
    assert [(o.shape[1], 64 // o.shape[2]) for o in outs] == DOCUMENTED[name]


@pytest.mark.parametrize('name', ARCHS)
def test_builds_from_registry_and_selects_out_indices(name):
    out_indices = (1, 3) if name != 'CondConvMobileNetV1' else (2, 4)
    model = build(name, num_experts=2, out_indices=out_indices).eval()
    outs = model(torch.randn(2, 3, 64, 64))
    assert len(outs) == 2 and all(o.shape[0] == 2 for o in outs)
    assert any(isinstance(m, CondConv2d) for m in model.modules())


@pytest.mark.parametrize('name', ARCHS)
def test_trains_one_step_including_routing(name):
    torch.manual_seed(0)
    model = build(name, num_experts=2)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    before = copy.deepcopy(model.state_dict())
    loss = sum(o.pow(2).mean() for o in model(torch.randn(2, 3, 32, 32)))
    loss.backward()
    routing_grads = [p.grad for n, p in model.named_parameters() if '.routing.' in n]
    assert routing_grads and all(g is not None and torch.isfinite(g).all() for g in routing_grads)
    assert any(g.abs().sum() > 0 for g in routing_grads)
    opt.step()
    changed = [k for k, v in model.state_dict().items() if v.dtype.is_floating_point and not torch.equal(v, before[k])]
    assert any('.routing.' in k for k in changed) and any(k.endswith('conv.weight') or 'conv2.weight' in k
                                                          for k in changed)


@pytest.mark.parametrize('name', ARCHS)
def test_frozen_stages_and_norm_eval(name):
    model = build(name, num_experts=2, frozen_stages=2, norm_eval=True)
    model.train()
    stem = [model.conv1] + ([model.norm1] if name == 'CondConvResNet' else [])
    for module in stem + [model.layer1, model.layer2]:
        assert all(not p.requires_grad for p in module.parameters())
        assert all(not m.training for m in module.modules() if isinstance(m, _BatchNorm))
    assert all(p.requires_grad for p in model.layer3.parameters())
    assert all(not m.training for m in model.modules() if isinstance(m, _BatchNorm))
    model = build(name, num_experts=2, norm_eval=False)
    model.train()
    assert all(m.training for m in model.modules() if isinstance(m, _BatchNorm))


@pytest.mark.parametrize('name', ARCHS)
@pytest.mark.parametrize('arg,value', [('out_indices', (0, 99)), ('frozen_stages', 99), ('frozen_stages', -2),
                                       ('num_experts', -1), ('num_experts', 2.5)])
def test_bad_arguments_raise_value_error_naming_them(name, arg, value):
    with pytest.raises(ValueError, match=arg):
        build(name, **{arg: value})


@pytest.mark.parametrize('name', ARCHS)
def test_static_twin_when_experts_equal_and_routing_constant(name, device):
    """Experts all W/s and routing σ(GAP(x)·0 + c) (Σr = s): the CondConv network computes the static one."""
    torch.manual_seed(0)
    static = build(name, num_experts=0, num_classes=10, dropout_ratio=0.).double().eval()
    randomize_bn(static)
    cond = build(name, num_experts=3, num_classes=10, dropout_ratio=0.).double().eval()
    assert any(isinstance(m, CondConv2d) for m in cond.modules())
    c = 0.3
    s = 3 * torch.sigmoid(torch.tensor(c, dtype=torch.float64))
    static_sd = static.state_dict()
    new_sd = {}
    cond_convs = {n for n, m in cond.named_modules() if isinstance(m, CondConv2d)}
    for key, ref in cond.state_dict().items():
        module = key.rsplit('.', 1)[0]
        if '.routing.' in key or key.startswith('routing.'):
            new_sd[key] = torch.full_like(ref, c) if key.endswith('bias') else torch.zeros_like(ref)
        elif module in cond_convs:
            new_sd[key] = (static_sd[key].reshape(ref.shape[1:]) / s).expand_as(ref).clone()
        else:
            new_sd[key] = static_sd[key]
    cond.load_state_dict(new_sd)
    static, cond = static.to(device), cond.to(device)
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64).to(device)
    with torch.no_grad():
        torch.testing.assert_close(cond(x), static(x), rtol=1e-10, atol=1e-10)
    # and without the classifier: every feature map
    static.with_classifier = cond.with_classifier = False
    with torch.no_grad():
        feats_cond, feats_static = cond(x), static(x)
        assert isinstance(feats_cond, tuple) and len(feats_cond) == len(static.out_indices)
        for a, b in zip(feats_cond, feats_static):
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


def test_static_mobilenet_v2_is_mmdet_mobilenet_v2():
    """num_experts=0: same keys, shapes and outputs as mmdet's MobileNetV2 (SSDLite's out_indices=(4, 7))."""
    ours = MODELS.build(dict(type='CondConvMobileNetV2', num_experts=0, out_indices=(4, 7))).eval()
    ref = MODELS.build(dict(type='MobileNetV2', out_indices=(4, 7)))
    ref.eval()  # mmdet's train() returns None
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in ref.state_dict().items()}
    randomize_bn(ref)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        for a, b in zip(ours(x), ref(x)):
            torch.testing.assert_close(a, b)


def test_condconv_mobilenet_v2_default_placement_and_ssdlite_shapes():
    model = MODELS.build(dict(type='CondConvMobileNetV2', out_indices=(4, 7))).eval()
    assert model.num_experts == 8 and model.cond_stages == (3, 4, 5, 6, 7)
    assert model.layer4[0].expand_conv.conv.weight.shape[0] == 8
    assert not isinstance(model.layer3[0].expand_conv.conv, CondConv2d)
    assert model.conv2.conv.routing is not None
    with torch.no_grad():
        outs = model(torch.randn(1, 3, 320, 320))
    assert [tuple(o.shape) for o in outs] == [(1, 96, 20, 20), (1, 1280, 10, 10)]


def test_static_resnet_is_mmdet_resnet():
    ours = MODELS.build(dict(type='CondConvResNet', depth=50, num_experts=0)).eval()
    ref = MODELS.build(dict(type='ResNet', depth=50))
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in ref.state_dict().items()}


def test_resnet_condconv_stage_shares_routing_with_shortcut():
    model = build('CondConvResNet', num_experts=4)
    block = model.layer4[0]
    assert isinstance(block.downsample[0], CondConv2d) and block.routing is not None
    assert all(getattr(block, f'conv{i}').routing is None for i in (1, 2, 3))
    assert not any(isinstance(m, CondConv2d) for m in model.layer3.modules())


@pytest.mark.parametrize('name,expected_classifier', [('CondConvMobileNetV1', True), ('CondConvMobileNetV2', True),
                                                      ('CondConvMnasNet', False), ('CondConvEfficientNet', False),
                                                      ('CondConvResNet', False)])
def test_classifier_is_condconv_exactly_where_documented(name, expected_classifier):
    model = build(name, num_experts=2, num_classes=7).eval()
    assert not hasattr(model, 'num_classes')  # mmdet's NumClassCheckHook would compare it with the dataset's
    assert isinstance(model.classifier.fc, CondConv2d) == expected_classifier
    assert model(torch.randn(2, 3, 64, 64)).shape == (2, 7)


@pytest.mark.parametrize('name', ['CondConvMobileNetV2', 'CondConvResNet', 'CondConvMobileNetV1'])
def test_with_cp_gives_the_same_outputs_and_gradients(name):
    torch.manual_seed(0)
    plain = build(name, num_experts=2).double()
    ckpt = build(name, num_experts=2, with_cp=True).double()
    ckpt.load_state_dict(plain.state_dict())
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64, requires_grad=True)
    out_a, out_b = plain(x), ckpt(x)
    sum(o.sum() for o in out_a).backward()
    sum(o.sum() for o in out_b).backward()
    for a, b in zip(out_a, out_b):
        torch.testing.assert_close(a, b)
    for (n, p), (_, q) in zip(plain.named_parameters(), ckpt.named_parameters()):
        torch.testing.assert_close(p.grad, q.grad, msg=n)
