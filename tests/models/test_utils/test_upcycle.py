"""Function-preserving static → CondConv upcycling, and the torchvision MobileNetV2 key converter."""
import math
from pathlib import Path

import pytest
import torch
from torch.nn.modules.batchnorm import _BatchNorm

import condconv_det  # noqa: F401
from condconv_det.layers import CondConv2d
from condconv_det.models.utils import convert_torchvision_mobilenet_v2, upcycle_model, upcycle_state_dict
from mmdet.registry import MODELS



REPO = Path(__file__).resolve().parents[3]
TORCHVISION_CKPT = REPO / 'checkpoints' / 'mobilenet_v2-b0353104.pth'


def randomize_bn(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, _BatchNorm):
            m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.weight.shape, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)


def assert_same_outputs(a, b, tol=1e-5):
    a = a if isinstance(a, tuple) else (a, )
    b = b if isinstance(b, tuple) else (b, )
    for x, y in zip(a, b):
        scale = max(1., y.abs().max().item())
        assert (x - y).abs().max().item() <= tol * scale, (x - y).abs().max().item()


def _pair(cfg, experts, device='cpu', **kwargs):
    torch.manual_seed(0)
    static = MODELS.build(dict(cfg, num_experts=0, **kwargs)).eval()
    randomize_bn(static)
    cond = MODELS.build(dict(cfg, num_experts=experts, **kwargs)).eval()
    return static.to(device), cond.to(device)


@pytest.mark.parametrize('noise_std', [0., 0.05])
def test_upcycled_mobilenet_v2_equals_static(noise_std, device):
    static, cond = _pair(dict(type='CondConvMobileNetV2', out_indices=(4, 7)), 8, device, num_classes=1000)
    upcycle_model(static, cond, noise_std=noise_std, generator=torch.Generator().manual_seed(1))
    w = cond.layer5[0].expand_conv.conv.weight
    assert w.shape[0] == 8 and (noise_std == 0) == torch.equal(w[0], w[1])
    assert torch.all(cond.layer5[0].routing.fc.weight == 0)
    assert math.isclose(8 * torch.sigmoid(cond.layer5[0].routing.fc.bias[0]).item(), 1., rel_tol=1e-6)
    x = torch.randn(2, 3, 128, 128, device=device)
    with torch.no_grad():
        assert_same_outputs(cond(x), static(x))
        cond.with_classifier = static.with_classifier = False
        assert_same_outputs(cond(x), static(x))


def test_upcycled_resnet50_equals_static(device):
    static, cond = _pair(dict(type='CondConvResNet', depth=50), 4, device, num_classes=10)
    upcycle_model(static, cond)
    assert isinstance(cond.layer4[0].downsample[0], CondConv2d)
    x = torch.randn(2, 3, 96, 96, device=device)
    with torch.no_grad():
        assert_same_outputs(cond(x), static(x))


@pytest.mark.parametrize('routing_cfg', [dict(type='SoftmaxRouting'), dict(type='SigmoidRouting')])
def test_upcycling_other_routing_and_single_expert(routing_cfg, device):
    """Softmax routing (Σr = 1) and sigmoid with E = 1 (Σr = σ(0) = ½, experts scaled by 2) stay exact."""
    for experts in (1, 3):
        static, cond = _pair(dict(type='CondConvMnasNet', widen_factor=0.5, routing_cfg=routing_cfg), experts,
                             device)
        upcycle_model(static, cond)
        x = torch.randn(1, 3, 64, 64, device=device)
        with torch.no_grad():
            assert_same_outputs(cond(x), static(x))


def test_upcycling_rejects_mismatched_checkpoints():
    static, cond = _pair(dict(type='CondConvMobileNetV2', widen_factor=0.5), 2)
    sd = static.state_dict()
    with pytest.raises(KeyError, match='extra'):
        upcycle_state_dict(dict(sd, extra=torch.zeros(1)), cond)
    sd.pop('layer7.0.linear_conv.conv.weight')
    with pytest.raises(KeyError, match='layer7.0.linear_conv.conv.weight'):
        upcycle_state_dict(sd, cond)


@pytest.mark.skipif(not TORCHVISION_CKPT.exists(), reason=f'{TORCHVISION_CKPT} absent (run '
                    'tools/model_converters/fetch_torchvision_mobilenetv2.py)')
def test_real_torchvision_checkpoint_converts_without_missing_or_unexpected_keys():
    raw = torch.load(TORCHVISION_CKPT, map_location='cpu', weights_only=True)
    converted = convert_torchvision_mobilenet_v2(raw)
    model = MODELS.build(dict(type='CondConvMobileNetV2', num_experts=0, num_classes=1000))
    result = model.load_state_dict(converted, strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    mmdet_model = MODELS.build(dict(type='MobileNetV2', out_indices=(4, 7)))
    result = mmdet_model.load_state_dict(convert_torchvision_mobilenet_v2(raw, with_classifier=False), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    # the ImageNet weights are real: BN statistics are not the defaults
    assert not torch.allclose(model.conv2.bn.running_var, torch.ones(1280))
    # upcycled real weights keep the function
    cond = MODELS.build(dict(type='CondConvMobileNetV2', num_experts=8, num_classes=1000)).eval()
    upcycle_model(model.eval(), cond)
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        assert_same_outputs(cond(x), model(x))


@pytest.mark.parametrize('name,experts', [('mobilenet_v2_torchvision_mmdet.pth', 0),
                                          ('mobilenet_v2_torchvision_condconv8_noise0.1.pth', 8)])
def test_published_detection_checkpoints_load_with_backbone_prefix(name, experts):
    path = REPO / 'checkpoints' / name
    if not path.exists():
        pytest.skip(f'{path} absent')
    ckpt = torch.load(path, map_location='cpu', weights_only=True)
    sd = ckpt['state_dict']
    assert all(k.startswith('backbone.') for k in sd)
    model = MODELS.build(dict(type='CondConvMobileNetV2', num_experts=experts, out_indices=(4, 7)))
    result = model.load_state_dict({k[len('backbone.'):]: v for k, v in sd.items()}, strict=True)
    assert not result.missing_keys and not result.unexpected_keys


def test_upcycle_tool_round_trip_with_backbone_prefix(tmp_path, load_tool):
    """tools/model_converters/upcycle_static_to_condconv.py: prefixed static checkpoint in, prefixed CondConv out."""
    tool = load_tool('tools/model_converters/upcycle_static_to_condconv.py')
    static, _ = _pair(dict(type='CondConvMobileNetV2', widen_factor=0.5, out_indices=(4, 7)), 2)
    src, dst = tmp_path / 'static.pth', tmp_path / 'cond.pth'
    torch.save(dict(state_dict={'backbone.' + k: v for k, v in static.state_dict().items()}), src)
    cfg = dict(type='CondConvMobileNetV2', widen_factor=0.5, out_indices=(4, 7), num_experts=4)
    tool.upcycle_checkpoint(str(src), str(dst), cfg, prefix='backbone.', noise_std=0.01)
    sd = torch.load(dst, map_location='cpu', weights_only=True)['state_dict']
    assert all(k.startswith('backbone.') for k in sd)
    cond = MODELS.build(cfg).eval()
    cond.load_state_dict({k[len('backbone.'):]: v for k, v in sd.items()}, strict=True)
    x = torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        assert_same_outputs(cond(x), static(x))


def test_routing_init_scale_starts_routing_that_varies_per_image_near_the_static_function():
    static, cond = _pair(dict(type='CondConvMobileNetV2', out_indices=(7, )), 8)
    upcycle_model(static, cond)  # exact reference first
    x = torch.randn(4, 3, 96, 96)
    with torch.no_grad():
        exact = cond(x)[0]
    sd = upcycle_state_dict(static.state_dict(), cond, noise_std=0.1, generator=torch.Generator().manual_seed(0),
                            routing_init_scale=0.1)
    cond.load_state_dict(sd)
    fc = cond.layer5[0].routing.fc
    bound = 0.1 / math.sqrt(fc.in_features)
    assert 0 < fc.weight.abs().max().item() <= bound
    assert math.isclose(8 * torch.sigmoid(fc.bias[0]).item(), 1., rel_tol=1e-6)  # biases keep the uniform start
    with torch.no_grad():
        routing = cond.layer5[0].routing(torch.rand(4, fc.in_features, 5, 5) * 6)
        out = cond(x)[0]
    assert routing.std(dim=0).max() > 1e-4  # differs per input from the first step
    relative = ((out - exact).norm() / exact.norm()).item()
    assert 0 < relative < 0.2, relative  # near, not equal to, the static function
    with pytest.raises(ValueError, match='routing_init_scale must be >= 0'):
        upcycle_state_dict(static.state_dict(), cond, routing_init_scale=-1.)


def test_whole_detector_upcycles_backbone_and_head_to_the_static_function():
    """A static SSDLite detector (backbone + head towers) -> its CondConv-8e twin: the head's per-level routings are
    made constant too, so the detector's outputs are unchanged; `--whole-detector` is the tool's path to this."""
    from mmengine.config import Config
    from mmdet.utils import register_all_modules
    register_all_modules()
    names = ('ssdlite_mobilenetv2-imagenet_1xb8-24e_bccd.py',
             'ssdlite_condconv8x-mobilenetv2-imagenet-lrmatched_1xb8-24e_bccd.py')
    static_cfg, cond_cfg = (Config.fromfile(str(REPO / 'configs/ssdlite' / name)).model for name in names)
    torch.manual_seed(0)
    static = MODELS.build(static_cfg).eval()
    randomize_bn(static)
    cond = MODELS.build(cond_cfg).eval()
    state = upcycle_state_dict(static.state_dict(), cond)
    cond.load_state_dict(state, strict=True)
    assert torch.all(cond.bbox_head.level_routings[0].fc.weight == 0)
    assert cond.bbox_head.cls_convs[0][0].conv.weight.shape[0] == 8
    x = torch.randn(1, 3, 160, 160)
    with torch.no_grad():
        for a, b in zip(cond._forward(x), static._forward(x)):
            assert_same_outputs(tuple(a), tuple(b))


def test_upcycle_tool_cfg_options_choose_the_experts_of_the_whole_detector(tmp_path, load_tool):
    """`--cfg-options` edits `--config` before upcycling: a static SSDLite into its E=1 CondConv twin."""
    from mmengine.config import Config
    from mmdet.utils import register_all_modules
    register_all_modules()
    tool = load_tool('tools/model_converters/upcycle_static_to_condconv.py')
    static = MODELS.build(Config.fromfile(str(REPO / 'configs/ssdlite/ssdlite_mobilenetv2-imagenet_1xb8-24e_bccd.py'))
                          .model)
    src, dst = tmp_path / 'static.pth', tmp_path / 'cc1.pth'
    torch.save(dict(state_dict=static.state_dict()), src)
    tool.main([str(src), str(dst), '--whole-detector', '--config',
               str(REPO / 'configs/ssdlite/ssdlite_condconv8x-mobilenetv2-imagenet-lrmatched_1xb8-24e_bccd.py'),
               '--cfg-options', 'model.backbone.num_experts=1', 'model.bbox_head.num_experts=1'])
    sd = torch.load(dst, map_location='cpu', weights_only=True)['state_dict']
    experts = {v.shape[0] for k, v in sd.items() if k.endswith('.weight') and v.dim() == 5}
    assert experts == {1}
    assert 'backbone.layer4.0.routing.fc.weight' in sd and 'bbox_head.level_routings.0.fc.weight' in sd


def test_recipe_config_upcycles_its_static_twin_exactly_and_the_tool_defers_to_its_optimizer(tmp_path, load_tool,
                                                                                                capsys):
    """The BCCD recipe (E=1: sigmoid routing 0.5, kernels x2) starts as exactly its static twin's detector, and the
    tool, given a config whose optim_wrapper already scales the experts, says so instead of suggesting other values."""
    from mmengine.config import Config
    from mmdet.utils import register_all_modules
    register_all_modules()
    recipe = REPO / 'configs/ssdlite/ssdlite_condconv1x-mobilenetv2-ft_1xb8-12e_bccd.py'
    twin = REPO / 'configs/ssdlite/ssdlite_mobilenetv2-ft_1xb8-12e_bccd.py'
    torch.manual_seed(0)
    static = MODELS.build(Config.fromfile(str(twin)).model).eval()
    randomize_bn(static)
    src, dst = tmp_path / 'static.pth', tmp_path / 'cc1.pth'
    torch.save(dict(state_dict=static.state_dict()), src)
    tool = load_tool('tools/model_converters/upcycle_static_to_condconv.py')
    tool.main([str(src), str(dst), '--whole-detector', '--config', str(recipe)])
    assert "its optim_wrapper sets {'condconv': {'expert_lr_mult': 4.0, 'expert_decay_mult': 0.25" in \
        capsys.readouterr().out
    cond = MODELS.build(Config.fromfile(str(recipe)).model).eval()
    cond.load_state_dict(torch.load(dst, map_location='cpu', weights_only=True)['state_dict'], strict=True)
    x = torch.randn(1, 3, 160, 160)
    with torch.no_grad():
        for a, b in zip(cond._forward(x), static._forward(x)):
            assert_same_outputs(tuple(a), tuple(b))
