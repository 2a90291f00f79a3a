"""Routing functions: the paper's sigmoid(GAP(x)·R + b) (eq. 2) and the softmax-with-temperature variant."""
import pytest
import torch
from mmengine.registry import MODELS

from condconv_det.layers import SigmoidRouting, SoftmaxRouting, build_routing


@pytest.mark.parametrize('routing_type', [SigmoidRouting, SoftmaxRouting])
def test_output_shape_range_and_pooled_input(routing_type):
    routing = routing_type(6, 4)
    x = torch.randn(3, 6, 5, 7) * 10
    weights = routing(x)
    assert weights.shape == (3, 4) and weights.dtype == torch.float32
    assert bool(((weights > 0) & (weights < 1)).all())
    if routing_type is SoftmaxRouting:
        torch.testing.assert_close(weights.sum(1), torch.ones(3))
    torch.testing.assert_close(routing(x.mean((2, 3))), weights)  # a block can pool once


def test_sigmoid_routing_is_equation_2():
    routing = SigmoidRouting(5, 3)
    x = torch.randn(2, 5, 4, 4)
    expected = torch.sigmoid(x.mean((2, 3)) @ routing.fc.weight.t() + routing.fc.bias)
    torch.testing.assert_close(routing(x), expected)


def test_softmax_temperature_flattens_and_is_saved():
    routing = SoftmaxRouting(5, 4, temperature=1.0)
    x = torch.randn(2, 5, 3, 3) * 5
    sharp = routing(x)
    routing.temperature = 1000.0
    flat = routing(x)
    assert (flat - 0.25).abs().max() < (sharp - 0.25).abs().max()
    assert (flat - 0.25).abs().max() < 1e-2
    restored = SoftmaxRouting(5, 4)
    restored.load_state_dict(routing.state_dict())
    assert restored.temperature == 1000.0
    with pytest.raises(ValueError, match='temperature'):
        routing.temperature = 0.0


@pytest.mark.parametrize('routing_type', [SigmoidRouting, SoftmaxRouting])
def test_routing_runs_in_float32_under_bf16_autocast(routing_type):
    routing = routing_type(8, 4)
    x = torch.randn(2, 8, 4, 4)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        weights = routing(x.bfloat16())
    assert weights.dtype == torch.float32
    torch.testing.assert_close(weights, routing(x), atol=2e-2, rtol=0)
    assert routing.double()(x.double()).dtype == torch.float64


def test_dropout_on_routing_input_only_in_training():
    routing = SigmoidRouting(64, 4, dropout=0.5)
    x = torch.randn(2, 64, 3, 3)
    routing.eval()
    torch.testing.assert_close(routing(x), routing(x))
    routing.train()
    assert not torch.allclose(routing(x), routing(x))


def test_detach_input_keeps_the_routing_and_its_gradient_but_cuts_the_features_gradient():
    torch.manual_seed(0)
    plain, detached = SigmoidRouting(6, 3), SigmoidRouting(6, 3, detach_input=True)
    detached.load_state_dict(plain.state_dict())
    x = torch.randn(2, 6, 4, 4, requires_grad=True)
    torch.testing.assert_close(detached(x), plain(x))
    plain(x).sum().backward()
    assert x.grad.abs().sum() > 0  # the paper's routing sends gradient into the features it pools
    x.grad = None
    detached(x).sum().backward()
    assert x.grad is None
    torch.testing.assert_close(detached.fc.weight.grad, plain.fc.weight.grad)  # R still learns the same way
    assert 'detach_input=True' in repr(detached)


def test_build_routing_from_registry():
    routing = build_routing(dict(type='SoftmaxRouting', temperature=30.0), in_channels=6, num_experts=3)
    assert isinstance(routing, SoftmaxRouting) and routing.temperature == 30.0 and routing.num_experts == 3
    assert MODELS.get('SigmoidRouting') is SigmoidRouting
    with pytest.raises(ValueError, match='num_experts'):
        build_routing(dict(type='SigmoidRouting', num_experts=5), in_channels=6, num_experts=3)
    with pytest.raises(ValueError, match='routing_cfg'):
        build_routing('SigmoidRouting', in_channels=6, num_experts=3)


@pytest.mark.parametrize('kwargs, name', [
    (dict(in_channels=0, num_experts=2), 'in_channels'),
    (dict(in_channels=4, num_experts=0), 'num_experts'),
    (dict(in_channels=4, num_experts=2.0), 'num_experts'),
    (dict(in_channels=4, num_experts=2, dropout=1.0), 'dropout'),
    (dict(in_channels=4, num_experts=2, detach_input=1), 'detach_input'),
])
def test_invalid_routing_arguments(kwargs, name):
    with pytest.raises(ValueError, match=name):
        SigmoidRouting(**kwargs)


def test_wrong_routing_input_shape():
    with pytest.raises(ValueError, match='routing input'):
        SigmoidRouting(4, 2)(torch.randn(2, 5, 3, 3))
