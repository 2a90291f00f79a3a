"""CondConvOptimWrapperConstructor: with ``expert_lr_mult='num_experts', expert_decay_mult='1/num_experts'`` an
upcycled CondConv layer takes exactly the static layer's SGD steps (momentum, weight decay) while its routing is held
uniform; without the scaling its mixed kernel moves ``E`` times less."""
import copy

import pytest
import torch
import torch.nn as nn
from mmdet.registry import OPTIM_WRAPPER_CONSTRUCTORS

import condconv_det  # noqa: F401  (registers the constructor)
from condconv_det.layers import CondConv2d
from condconv_det.models.utils.upcycle import upcycle_state_dict

NUM_EXPERTS = 4


class StaticNet(nn.Module):

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 5, 3, padding=1)
        self.head = nn.Conv2d(5, 2, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.conv(x)))


class CondNet(StaticNet):

    def __init__(self) -> None:
        super().__init__()
        self.conv = CondConv2d(3, 5, 3, padding=1, num_experts=NUM_EXPERTS)


def _build(model: nn.Module, condconv: dict = None):
    cfg = dict(type='CondConvOptimWrapperConstructor',
               optim_wrapper_cfg=dict(type='OptimWrapper',
                                      optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=0.05)),
               paramwise_cfg=dict(condconv=condconv or {}))
    return OPTIM_WRAPPER_CONSTRUCTORS.build(cfg)(model)


def _train(model: nn.Module, optim_wrapper, steps: int = 4) -> None:
    generator = torch.Generator().manual_seed(0)
    for _ in range(steps):
        x = torch.randn(6, 3, 7, 7, generator=generator, dtype=torch.float64)
        target = torch.randn(6, 2, 7, 7, generator=generator, dtype=torch.float64)
        optim_wrapper.update_params(((model(x) - target)**2).mean())


def _pair():
    torch.manual_seed(0)
    static = StaticNet().double()
    cond = CondNet().double()
    cond.load_state_dict(upcycle_state_dict(static.state_dict(), cond, noise_std=0.3,
                                            generator=torch.Generator().manual_seed(1)))
    return static, cond


def _mixed_kernel(cond: CondNet) -> torch.Tensor:
    r = cond.conv.routing(torch.zeros(1, 3, 1, 1, dtype=torch.float64))  # uniform: routing weights are zero
    return torch.einsum('be,eoikl->oikl', r, cond.conv.weight)


def test_upcycled_layer_follows_static_sgd_exactly() -> None:
    static, cond = _pair()
    torch.testing.assert_close(_mixed_kernel(cond), static.conv.weight, rtol=0, atol=1e-12)
    _train(static, _build(static))
    _train(cond, _build(cond, dict(expert_lr_mult='num_experts', expert_decay_mult='1/num_experts',
                                   routing_lr_mult=0.)))
    torch.testing.assert_close(_mixed_kernel(cond), static.conv.weight, rtol=0, atol=1e-10)
    torch.testing.assert_close(cond.head.weight, static.head.weight, rtol=0, atol=1e-10)
    # the experts themselves still differ (their noise is kept), only the mix follows the static kernel
    assert (cond.conv.weight[0] - cond.conv.weight[1]).abs().max() > 1e-3


def test_without_scaling_upcycled_layer_learns_slower() -> None:
    static, cond = _pair()
    start = static.conv.weight.detach().clone()
    _train(static, _build(static), steps=1)
    _train(cond, _build(cond, dict(routing_lr_mult=0.)), steps=1)
    decay_step = -0.1 * 0.05 * start  # -lr * weight_decay * W, the same for both: each expert decays like W
    static_grad_step = static.conv.weight.detach() - start - decay_step
    cond_grad_step = _mixed_kernel(cond).detach() - start - decay_step
    # first SGD step: the mixed kernel's gradient step is sum_i r_i^2 = 1/E of the static one
    torch.testing.assert_close(cond_grad_step, static_grad_step / NUM_EXPERTS, rtol=0, atol=1e-12)
    assert static_grad_step.abs().max() > 1e-3


def test_groups_get_multipliers_and_prefixes_select_modules() -> None:
    _, cond = _pair()
    optim = _build(cond, dict(expert_lr_mult='num_experts', expert_decay_mult='1/num_experts', routing_lr_mult=3.,
                              module_prefixes=('conv', )))
    settings = {id(g['params'][0]): (g['lr'], g['weight_decay']) for g in optim.optimizer.param_groups}
    assert settings[id(cond.conv.weight)] == pytest.approx((0.1 * NUM_EXPERTS, 0.05 / NUM_EXPERTS))
    assert settings[id(cond.conv.bias)] == pytest.approx((0.1 * NUM_EXPERTS, 0.05 / NUM_EXPERTS))
    assert settings[id(cond.conv.routing.fc.weight)] == pytest.approx((0.3, 0.05))
    assert settings[id(cond.head.weight)] == pytest.approx((0.1, 0.05))
    with pytest.raises(ValueError, match='has no CondConv2d or routing function: check module_prefixes'):
        _build(copy.deepcopy(cond), dict(expert_lr_mult=2., module_prefixes=('head', )))  # a typo'd scope


@pytest.mark.parametrize('condconv, message', [
    (dict(expert_lr_mult='experts'), "expert_lr_mult must be a number or one of"),
    (dict(routing_lr_mult=-1.), 'routing_lr_mult must be >= 0'),
    (dict(expert_lr_multiplier=2.), "unknown keys ['expert_lr_multiplier']"),
])
def test_bad_settings_are_refused(condconv: dict, message: str) -> None:
    _, cond = _pair()
    with pytest.raises(ValueError, match=message.replace('[', r'\[').replace(']', r'\]')):
        _build(cond, condconv)


def test_bccd_lrmatched_config_scales_only_the_upcycled_backbone() -> None:
    from pathlib import Path

    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config
    from mmengine.optim import build_optim_wrapper

    register_all_modules()
    root = Path(__file__).resolve().parents[3]
    cfg = Config.fromfile(root / 'configs/ssdlite/ssdlite_condconv8x-mobilenetv2-imagenet-lrmatched_1xb8-12e_bccd.py')
    model = MODELS.build(cfg.model)
    optim = build_optim_wrapper(model, cfg.optim_wrapper)
    base_lr, base_wd = cfg.optim_wrapper.optimizer.lr, cfg.optim_wrapper.optimizer.weight_decay
    settings = {id(g['params'][0]): (g.get('lr', base_lr), g.get('weight_decay', base_wd))
                for g in optim.optimizer.param_groups}
    experts = {name: m for name, m in model.named_modules() if isinstance(m, CondConv2d)}
    assert any(n.startswith('backbone.') for n in experts) and any(n.startswith('bbox_head.') for n in experts)
    for name, module in experts.items():
        expected = (base_lr * 8, base_wd / 8) if name.startswith('backbone.') else (base_lr, base_wd)
        assert settings[id(module.weight)] == pytest.approx(expected), name
    assert settings[id(model.backbone.conv1.conv.weight)] == pytest.approx((base_lr, base_wd))


class SingleExpertNet(StaticNet):

    def __init__(self) -> None:
        super().__init__()
        self.conv = CondConv2d(3, 5, 3, padding=1, num_experts=1)


def test_single_expert_follows_static_sgd_with_lr_x4_and_decay_x_quarter(monkeypatch) -> None:
    """E=1, sigmoid routing 0.5, kernel 2W: the recipe config's multipliers (4, 1/4) give the static steps exactly;
    'num_experts' (1) does not, and the constructor says so."""
    torch.manual_seed(0)
    static = StaticNet().double()
    cond = SingleExpertNet().double()
    cond.load_state_dict(upcycle_state_dict(static.state_dict(), cond))
    torch.testing.assert_close(_mixed_kernel(cond), static.conv.weight, rtol=0, atol=1e-12)
    slow = copy.deepcopy(cond)
    _train(static, _build(static))
    _train(cond, _build(cond, dict(expert_lr_mult=4.0, expert_decay_mult=0.25, routing_lr_mult=0.)))
    torch.testing.assert_close(_mixed_kernel(cond), static.conv.weight, rtol=0, atol=1e-10)
    torch.testing.assert_close(cond.head.weight, static.head.weight, rtol=0, atol=1e-10)
    from condconv_det.engine.optimizers import condconv_optim_wrapper_constructor as constructor
    messages = []
    monkeypatch.setattr(constructor, 'print_log', lambda msg, **kwargs: messages.append(msg))
    _train(slow, _build(slow, dict(expert_lr_mult='num_experts', expert_decay_mult='1/num_experts',
                                   routing_lr_mult=0.)))
    assert any('static steps need expert_lr_mult=4.0, expert_decay_mult=0.25' in m for m in messages)
    assert (_mixed_kernel(slow) - static.conv.weight).abs().max() > 1e-4
