"""Deploy-time collapse of CondConv routing: under constant routing the collapsed network equals the original to 1e-5
(float32) for backbones (inverted residual, separable, bottleneck blocks, own-routing convs and classifiers) and the
CondConv SSDLite demo detector, which then has its static twin's parameters; ``tol=0`` changes nothing; dropping
experts removes exactly their contribution; the collapsed model is built from a config and every parameter gets a
gradient; bad input gets a clear error."""
import copy
import math
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample
from mmdet.testing import demo_mm_inputs
from mmdet.utils import register_all_modules
from mmengine.config import Config
from mmengine.model import BaseModel

import condconv_det  # noqa: F401
from condconv_det.analysis.routing_stats import find_routing_modules
from condconv_det.layers import CondConv2d
from condconv_det.models.layers import CondConvInvertedResidual
from condconv_det.models.utils import (CollapsedCondConv2d, ExpertSubsetRouting, RemovedRouting, apply_collapse_plan,
                                       calibrate_routing, config_plan, plan_collapse)

ROOT = Path(__file__).resolve().parents[3]
DEMO_CONDCONV_CONFIG = ROOT / 'configs/ssdlite/ssdlite_condconv8x-mobilenetv2_1xb16-30e_demo.py'
DEMO_STATIC_CONFIG = ROOT / 'configs/ssdlite/ssdlite_mobilenetv2_1xb16-30e_demo.py'


class TensorModel(BaseModel):
    """A network as calibrate_routing runs it: an mmengine model (``data_preprocessor``, ``mode='tensor'``)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net
        self.train(net.training)  # calibration restores this mode afterwards

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.net(inputs)


def random_batches(shape, num_batches=2, batch_size=3, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [dict(inputs=torch.randn(batch_size, *shape, generator=generator),
                 data_samples=[DetDataSample() for _ in range(batch_size)]) for _ in range(num_batches)]


def image_batches(num_batches=2, batch_size=2, size=160, seed=0):
    """Detector batches as a dataloader yields them (uint8 images, data samples with their shapes)."""
    generator = torch.Generator().manual_seed(seed)
    meta = dict(img_shape=(size, size), ori_shape=(size, size), scale_factor=(1., 1.))
    return [dict(inputs=[torch.randint(0, 256, (3, size, size), dtype=torch.uint8, generator=generator)
                         for _ in range(batch_size)],
                 data_samples=[DetDataSample(metainfo=meta) for _ in range(batch_size)]) for _ in range(num_batches)]


@torch.no_grad()
def make_routing_constant(model, seed=1, spread=0.5, expert_noise=0.3):
    """Constant, non-uniform routing (``R = 0``, random biases around ``Σ_i r_i = 1``) and experts that are one
    kernel plus noise: as well scaled as the static twin, while the mean-mixed kernel depends on every expert."""
    generator = torch.Generator().manual_seed(seed)
    for routing in find_routing_modules(model).values():
        experts = routing.num_experts
        routing.fc.weight.zero_()
        routing.fc.bias.copy_(-math.log(max(experts - 1, 1)) + spread * torch.randn(experts, generator=generator))
    for conv in model.modules():
        if isinstance(conv, CondConv2d):
            base = conv.weight[0].clone()
            noise = torch.randn(conv.weight.shape, generator=generator) * expert_noise * base.std()
            conv.weight.copy_(base + noise - noise.mean(0))
            if conv.bias is not None:
                conv.bias.copy_(torch.randn(conv.bias.shape, generator=generator) * 0.1)
    return model


def flat(outputs):
    if isinstance(outputs, torch.Tensor):
        return [outputs]
    return [t for item in outputs for t in flat(item)]


def max_scaled_difference(a, b):
    """max |a - b| over every output tensor, relative to max(1, max |b|)."""
    a, b = flat(a), flat(b)
    assert [t.shape for t in a] == [t.shape for t in b]
    scale = max(1., max(float(t.abs().max()) for t in b))
    return max(float((x - y).abs().max()) for x, y in zip(a, b)) / scale


def with_uniform_means(decisions):
    uniform = copy.deepcopy(decisions)
    for decision in uniform:
        mean = decision['mean_routing']
        decision['mean_routing'] = [sum(mean) / len(mean)] * len(mean)
    return uniform


def assert_every_parameter_gets_a_gradient(detector):
    """A training step's backward reaches every trainable parameter (DDP's unused-parameter check would pass)."""
    detector.train()
    data = detector.data_preprocessor(demo_mm_inputs(batch_size=2, image_shapes=(3, 160, 160), num_items=[3, 3],
                                                     num_classes=3), True)
    losses = detector(**data, mode='loss')
    loss, _ = detector.parse_losses(losses)
    loss.backward()
    missing = [name for name, p in detector.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing, missing
    assert all(torch.isfinite(p.grad).all() for p in detector.parameters() if p.grad is not None)


@pytest.fixture(scope='module')
def demo_detector():
    """The CondConv SSDLite demo detector with constant routing, and its calibration on 4 images."""
    register_all_modules(init_default_scope=True)
    torch.manual_seed(0)
    detector = MODELS.build(Config.fromfile(str(DEMO_CONDCONV_CONFIG)).model)
    make_routing_constant(detector).eval()
    return detector, calibrate_routing(detector, image_batches(), ('circle', 'triangle', 'rectangle'))


BACKBONES = [
    (dict(type='CondConvMobileNetV2', widen_factor=0.5, out_indices=(4, 6), num_experts=4), (3, 96, 96)),
    (dict(type='CondConvMobileNetV1', widen_factor=0.5, num_experts=4, num_classes=10), (3, 64, 64)),
    (dict(type='CondConvResNet', depth=50, base_channels=16, num_experts=4, out_indices=(2, 3),
          stage_with_condconv=(False, False, True, True)), (3, 64, 64)),
]


@pytest.mark.parametrize('cfg,shape', BACKBONES, ids=['mobilenet_v2', 'mobilenet_v1_classifier', 'resnet50'])
def test_collapsed_backbone_equals_the_original_under_constant_routing(cfg, shape):
    torch.manual_seed(0)
    backbone = MODELS.build(cfg)
    make_routing_constant(backbone).eval()
    calibration = calibrate_routing(TensorModel(backbone), random_batches(shape))
    decisions = plan_collapse(calibration, tol=1e-3)
    assert decisions and all(d['action'] == 'collapse' and d['std'] == 0 for d in decisions)
    assert max(max(d['mean_routing']) - min(d['mean_routing']) for d in decisions) > 0.1  # not uniform
    paths = [d['routing'][len('net.'):] for d in decisions]
    assert config_plan(decisions) == [{k: v for k, v in d.items() if k != 'reason'} for d in decisions]
    collapsed = apply_collapse_plan(TensorModel(copy.deepcopy(backbone)), decisions).net.eval()
    assert not any(isinstance(m, CondConv2d) for m in collapsed.modules())
    assert not find_routing_modules(collapsed) and not any('routing' in k for k in collapsed.state_dict())
    if cfg['type'] == 'CondConvResNet':  # the projection shortcut shares its block's routing, found by identity
        assert any('downsample' in conv for d in decisions for conv in d['convs'])
        assert collapsed.layer3[0].routing is None and isinstance(collapsed.layer3[0].conv2, CollapsedCondConv2d)
    if cfg.get('num_classes'):
        assert 'classifier.fc.routing' in paths and isinstance(collapsed.classifier.fc, CollapsedCondConv2d)
    x = torch.randn(2, *shape)
    with torch.no_grad():
        expected = backbone(x)
        assert max_scaled_difference(collapsed(x), expected) <= 1e-5
        # The check can fail: mixing the experts uniformly instead of by r̄ is far off.
        uniform = apply_collapse_plan(TensorModel(copy.deepcopy(backbone)), with_uniform_means(decisions)).net.eval()
        assert max_scaled_difference(uniform(x), expected) > 1e-3


def test_collapsed_ssdlite_equals_the_original_and_has_the_static_twins_parameters(demo_detector):
    detector, calibration = demo_detector
    decisions = plan_collapse(calibration, tol=1e-3)
    routings = [d['routing'] for d in decisions]
    assert len(routings) == 18 and all(d['action'] == 'collapse' for d in decisions)  # 12 backbone, 6 head levels
    assert 'backbone.conv2.conv.routing' in routings and 'bbox_head.level_routings.5' in routings
    head_level = decisions[routings.index('bbox_head.level_routings.0')]
    assert head_level['convs'] == ['bbox_head.cls_convs.0.0.conv', 'bbox_head.reg_convs.0.0.conv']
    collapsed = apply_collapse_plan(copy.deepcopy(detector), decisions).eval()
    assert all(isinstance(r, RemovedRouting) for r in collapsed.bbox_head.level_routings)
    uniform = apply_collapse_plan(copy.deepcopy(detector), with_uniform_means(decisions)).eval()
    x = torch.randn(2, 3, 160, 160)
    with torch.no_grad():
        expected = detector._forward(x)
        assert max_scaled_difference(collapsed._forward(x), expected) <= 1e-5
        assert max_scaled_difference(uniform._forward(x), expected) > 1e-3  # the check can fail
    static = MODELS.build(Config.fromfile(str(DEMO_STATIC_CONFIG)).model)
    assert {k: v.shape for k, v in collapsed.state_dict().items()} == {k: v.shape for k, v in
                                                                        static.state_dict().items()}


def test_collapsed_model_builds_from_a_config_with_the_same_keys_and_trains(demo_detector):
    detector, calibration = demo_detector
    decisions = plan_collapse(calibration, tol=1e-3)
    collapsed = apply_collapse_plan(copy.deepcopy(detector), decisions).eval()
    model_cfg = Config.fromfile(str(DEMO_CONDCONV_CONFIG)).model
    built = MODELS.build(dict(type='RoutingCollapsedModel', model=model_cfg, plan=config_plan(decisions),
                              data_preprocessor=dict(type='DetDataPreprocessor')))  # as mmengine's Runner passes it
    assert type(built) is type(detector)
    built.load_state_dict(collapsed.state_dict(), strict=True)
    x = torch.randn(1, 3, 160, 160)
    with torch.no_grad():
        assert max_scaled_difference(built.eval()._forward(x), collapsed._forward(x)) == 0
    assert_every_parameter_gets_a_gradient(built)


def test_tol_zero_changes_nothing(demo_detector):
    detector, calibration = demo_detector
    decisions = plan_collapse(calibration, tol=0)
    assert {d['action'] for d in decisions} == {'keep'} and config_plan(decisions) == []
    unchanged = apply_collapse_plan(copy.deepcopy(detector), decisions)
    state, original = unchanged.state_dict(), detector.state_dict()
    assert list(state) == list(original) and all(torch.equal(state[k], original[k]) for k in state)


@pytest.mark.parametrize('routing_cfg', [dict(type='SigmoidRouting'), dict(type='SoftmaxRouting')])
def test_dropping_experts_removes_exactly_their_contribution(routing_cfg):
    torch.manual_seed(0)
    conv = CondConv2d(8, 6, 3, padding=1, num_experts=4, routing_cfg=routing_cfg).eval()
    dropped, kept = [1, 3], [0, 2]
    with torch.no_grad():
        conv.routing.fc.weight.mul_(20)  # routing that varies across images ...
        conv.routing.fc.weight[dropped] = 0  # ... except for two experts that stay near zero
        conv.routing.fc.bias[dropped] = -7. if routing_cfg['type'] == 'SigmoidRouting' else -8.
        conv.bias.normal_()
    tol = 2e-2
    calibration = calibrate_routing(TensorModel(conv), random_batches((8, 10, 10), num_batches=3))
    decisions = plan_collapse(calibration, tol)
    assert [d['action'] for d in decisions] == ['drop_experts'] and decisions[0]['keep_experts'] == kept
    reduced = apply_collapse_plan(TensorModel(copy.deepcopy(conv)), decisions).net
    assert reduced.num_experts == 2 and isinstance(reduced.routing, ExpertSubsetRouting)
    conv, reduced = conv.double(), reduced.double()  # float64: the difference is the maths, not rounding
    x = torch.randn(3, 8, 10, 10, dtype=torch.float64)
    with torch.no_grad():
        r = conv.routing(x)
        assert torch.equal(reduced.routing(x), r[:, kept])  # kept weights unchanged (softmax: not renormalised)
        contribution = sum(r[:, i, None, None, None] * (F.conv2d(x, conv.weight[i], padding=1) +
                                                         conv.bias[i, None, :, None, None]) for i in dropped)
        difference = conv(x) - reduced(x)
        torch.testing.assert_close(difference, contribution, rtol=1e-9, atol=1e-12)
        bound = sum(tol * (F.conv2d(x.abs(), conv.weight[i].abs(), padding=1) +
                           conv.bias[i].abs()[None, :, None, None]) for i in dropped)
        assert (difference.abs() <= bound).all() and difference.abs().max() > 1e-4


def test_dropping_experts_of_a_block_restricts_its_shared_routing_and_every_conv():
    torch.manual_seed(0)
    block = CondConvInvertedResidual(8, 8, mid_channels=16, num_experts=4).eval()
    with torch.no_grad():
        block.routing.fc.weight.mul_(20)
        block.routing.fc.weight[2] = 0
        block.routing.fc.bias[2] = -12.
    decisions = plan_collapse(calibrate_routing(TensorModel(block), random_batches((8, 6, 6))), tol=1e-4)
    assert [(d['action'], d['keep_experts'], len(d['convs'])) for d in decisions] == [('drop_experts', [0, 1, 3], 3)]
    reduced = apply_collapse_plan(TensorModel(copy.deepcopy(block)), decisions).net
    assert [m.conv.num_experts for m in (reduced.expand_conv, reduced.depthwise_conv, reduced.linear_conv)] == [3] * 3
    x = torch.randn(2, 8, 6, 6)
    with torch.no_grad():
        assert max_scaled_difference(reduced(x), block(x)) < 1e-4


def test_detector_with_collapsed_backbone_and_dropped_head_experts_stays_close_and_trains(demo_detector):
    """Constant backbone routing collapses; the head's level routings vary across images but two experts stay
    below ``tol`` on every image: those are dropped."""
    detector = copy.deepcopy(demo_detector[0])
    levels = detector.bbox_head.level_routings
    pooled = {}  # per level: the pooled head input of 4 images

    def record(level):
        return lambda module, args: pooled.update({level: args[0].mean(dim=(2, 3))})

    hooks = [routing.register_forward_pre_hook(record(level)) for level, routing in enumerate(levels)]
    with torch.no_grad():
        detector._forward(detector.data_preprocessor(image_batches(num_batches=1, batch_size=4)[0], False)['inputs'])
        for hook in hooks:
            hook.remove()
        for level, routing in enumerate(levels):  # logits centred on the sigmoid, varying by ~1 across images ...
            mean, std = pooled[level].mean(0), pooled[level].std(0).mean()
            routing.fc.weight.normal_(0, 1 / (math.sqrt(routing.in_channels) * std))
            routing.fc.bias.sub_(routing.fc.weight @ mean)
            routing.fc.weight[[0, 5]] = 0
            routing.fc.bias[[0, 5]] = -14.  # ... except experts 0 and 5: r = 8e-7 on every image
    decisions = plan_collapse(calibrate_routing(detector, image_batches()), tol=1e-5)
    actions = {d['routing']: (d['action'], d.get('keep_experts')) for d in decisions}
    assert [actions[f'bbox_head.level_routings.{level}'] for level in range(6)] == \
        [('drop_experts', [1, 2, 3, 4, 6, 7])] * 6
    assert all(action == 'collapse' for name, (action, _) in actions.items() if name.startswith('backbone'))
    reduced = apply_collapse_plan(copy.deepcopy(detector), decisions).eval()
    assert all(isinstance(routing, ExpertSubsetRouting) for routing in reduced.bbox_head.level_routings)
    assert {m.num_experts for m in reduced.modules() if isinstance(m, CondConv2d)} == {6}
    x = torch.randn(2, 3, 160, 160)
    with torch.no_grad():  # the dropped 2 x 8e-7 of each tower conv's output, through BN and the predictors
        assert max_scaled_difference(reduced._forward(x), detector._forward(x)) < 1e-3
    assert_every_parameter_gets_a_gradient(reduced)


def test_routing_transformed_by_its_block_is_not_collapsed():
    """A CondConv2d that takes ``2 * r`` is fed by no routing module's output: the block's routing stays."""

    class Block(nn.Module):

        def __init__(self):
            super().__init__()
            self.routing = condconv_det.layers.SigmoidRouting(4, 2)
            self.a = CondConv2d(4, 4, 1, num_experts=2, routing_cfg=None)
            self.b = CondConv2d(4, 4, 1, num_experts=2, routing_cfg=None)

        def forward(self, x):
            r = self.routing(x)
            return self.b(self.a(x, r), 2 * r)

    block = Block()
    with torch.no_grad():
        block.routing.fc.weight.zero_()
    (decision, ) = plan_collapse(calibrate_routing(TensorModel(block), random_batches((4, 5, 5))), tol=1e-3)
    assert decision['action'] == 'keep' and decision['convs'] == ['net.a'] and 'net.b' in decision['reason']


def test_bad_input_gets_clear_errors(demo_detector):
    detector, calibration = demo_detector
    for tol in (-1e-3, float('nan'), 'small'):
        with pytest.raises(ValueError, match='tolerance must be a finite number >= 0'):
            plan_collapse(calibration, tol)
    plan = config_plan(plan_collapse(calibration, tol=1e-3))
    backbone_only = TensorModel(copy.deepcopy(detector.backbone))
    with pytest.raises(ValueError, match=r"entry 0: 'backbone.layer4.0.routing' is not a module"):
        apply_collapse_plan(backbone_only, plan)
    collapsed = apply_collapse_plan(copy.deepcopy(detector), plan)
    with pytest.raises(ValueError, match=r"'backbone.layer4.0.routing' is not a module .*already collapsed"):
        apply_collapse_plan(collapsed, plan)
    partly = apply_collapse_plan(copy.deepcopy(detector), plan[1:])
    with pytest.raises(ValueError, match='layer4.1.expand_conv.conv is a CollapsedCondConv2d, not a CondConv2d'):
        apply_collapse_plan(partly, [dict(plan[0], convs=plan[1]['convs'])])
    with pytest.raises(ValueError, match='mean_routing has 3 weights for 8 experts'):
        apply_collapse_plan(copy.deepcopy(detector), [dict(plan[0], mean_routing=[0.1] * 3)])
    with pytest.raises(ValueError, match='no CondConv routing modules'):
        calibrate_routing(MODELS.build(Config.fromfile(str(DEMO_STATIC_CONFIG)).model), image_batches())
    with pytest.raises(ValueError, match='at least 2'):
        plan_collapse(calibrate_routing(detector, image_batches(num_batches=1, batch_size=1)), tol=1e-3)
