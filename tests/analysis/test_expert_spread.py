"""Expert spread: equals a per-expert loop, is 0 for identical experts, reflects upcycling noise and independent
experts as the maths says, and is grouped per model part."""
import math

import torch
import torch.nn as nn

from condconv_det.analysis.expert_spread import expert_spread, spread_by_part
from condconv_det.layers import CondConv2d
from condconv_det.models.utils import upcycle_model


def _naive_spread(weight: torch.Tensor) -> float:
    experts = [w.detach().double() for w in weight]
    mean = sum(experts) / len(experts)
    return sum(float(torch.linalg.vector_norm(w - mean)) for w in experts) / len(experts) / float(
        torch.linalg.vector_norm(mean))


def test_spread_equals_a_per_expert_loop_and_is_zero_for_identical_experts():
    torch.manual_seed(0)
    model = nn.Sequential(CondConv2d(8, 16, 3, num_experts=4), CondConv2d(16, 16, 1, num_experts=2))
    spread = expert_spread(model)
    assert list(spread) == ['0', '1']
    for name, module in model.named_children():
        assert math.isclose(spread[name], _naive_spread(module.weight), rel_tol=1e-9)
    with torch.no_grad():
        model[0].weight.copy_(model[0].weight[:1].expand_as(model[0].weight))
    assert expert_spread(model)['0'] == 0.0


def test_upcycled_spread_is_the_noise_and_independent_experts_spread_sqrt_e_minus_1():
    torch.manual_seed(0)
    static = nn.Sequential(nn.Conv2d(64, 64, 3, bias=False))
    condconv = nn.Sequential(CondConv2d(64, 64, 3, bias=False, num_experts=8))
    assert math.isclose(expert_spread(condconv)['0'], math.sqrt(7), rel_tol=0.02)  # independent random experts
    upcycle_model(static, condconv, noise_std=0.1, generator=torch.Generator().manual_seed(0))
    kernel = static[0].weight
    expected = 0.1 * math.sqrt(1 - 1 / 8) * float(kernel.std() / kernel.pow(2).mean().sqrt())
    assert math.isclose(expert_spread(condconv)['0'], expected, rel_tol=0.02)


def test_spread_by_part():
    parts = spread_by_part({'backbone.a': 0.1, 'backbone.b': 0.3, 'bbox_head.c': 0.2})
    assert parts['backbone'] == dict(layers=2, mean=0.2, min=0.1, max=0.3)
    assert parts['bbox_head'] == dict(layers=1, mean=0.2, min=0.2, max=0.2)
