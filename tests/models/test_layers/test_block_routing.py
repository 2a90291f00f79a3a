"""Block-shared routing: each CondConv block routes once from its input and hands that one vector to all its
CondConvs; ``forward_with_routing`` reaches the CondConvs inside mmcv's conv modules; one routing builder whose
rules (contradicting keys rejected) hold for blocks as for layers."""
import pytest
import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, DepthwiseSeparableConvModule, build_conv_layer

import condconv_det  # noqa: F401
from condconv_det.layers import CondConv2d
from condconv_det.models.layers import (CondConvBottleneck, CondConvDepthwiseSeparable, CondConvInvertedResidual,
                                        CondConvModule, cond_conv_cfg, forward_with_routing, route_once_then_run)



def _bottleneck(num_experts: int, **kwargs) -> CondConvBottleneck:
    """A bottleneck with a projection shortcut built as mmdet's ``ResLayer`` does (same ``conv_cfg``)."""
    conv_cfg = cond_conv_cfg(num_experts) if num_experts > 0 else None
    shortcut = nn.Sequential(build_conv_layer(conv_cfg, 8, 8, 1, bias=False), nn.BatchNorm2d(8))
    return CondConvBottleneck(8, 2, num_experts=num_experts, downsample=shortcut, **kwargs)


BLOCKS = {
    'inverted_residual': lambda **kw: CondConvInvertedResidual(8, 8, mid_channels=16, se_cfg=dict(squeeze_channels=2),
                                                               **kw),
    'separable': lambda **kw: CondConvDepthwiseSeparable(8, 16, stride=2, **kw),
    'bottleneck': lambda **kw: _bottleneck(**kw),
}


def _record_routing(block: nn.Module):
    """Hooks counting the block's routing calls and collecting the routing tensor every CondConv2d receives."""
    calls, received = [], []
    block.routing.register_forward_hook(lambda module, args, out: calls.append(out))
    for conv in block.modules():
        if isinstance(conv, CondConv2d):
            conv.register_forward_pre_hook(lambda module, args: received.append(args[1]))
    return calls, received


@pytest.mark.parametrize('name', list(BLOCKS))
@pytest.mark.parametrize('with_cp', [False, True])
def test_block_routes_once_from_its_input_and_shares_it(name, with_cp):
    block = BLOCKS[name](num_experts=3, with_cp=with_cp).train()
    calls, received = _record_routing(block)
    x = torch.randn(2, 8, 8, 8, requires_grad=True)
    block(x).sum().backward()
    num_convs = sum(isinstance(m, CondConv2d) for m in block.modules())
    assert num_convs == (4 if name == 'bottleneck' else 3 if name == 'inverted_residual' else 2)
    if with_cp:  # torch.utils.checkpoint recomputes the block once in backward
        assert len(calls) == 2 and len(received) == 2 * num_convs
        calls, received = calls[1:], received[num_convs:]
    assert len(calls) == 1 and len(received) == num_convs
    assert all(r is calls[0] for r in received)
    torch.testing.assert_close(calls[0], block.routing(x))


@pytest.mark.parametrize('name', list(BLOCKS))
def test_static_block_has_no_routing_and_no_condconv(name):
    block = BLOCKS[name](num_experts=0)
    assert block.routing is None and not any(isinstance(m, CondConv2d) for m in block.modules())


@pytest.mark.parametrize('name', list(BLOCKS))
def test_block_rejects_a_routing_cfg_that_contradicts_it(name):
    with pytest.raises(ValueError, match=r'routing_cfg num_experts=5 contradicts the layer \(num_experts=3\)'):
        BLOCKS[name](num_experts=3, routing_cfg=dict(type='SigmoidRouting', num_experts=5))
    with pytest.raises(ValueError, match=r'routing_cfg in_channels=4 contradicts the layer \(in_channels=8\)'):
        BLOCKS[name](num_experts=3, routing_cfg=dict(type='SigmoidRouting', in_channels=4))
    with pytest.raises(ValueError, match=r"routing_cfg must be a dict with a 'type' key"):
        BLOCKS[name](num_experts=3, routing_cfg=None)
    block = BLOCKS[name](num_experts=3, routing_cfg=dict(type='SigmoidRouting', in_channels=8, num_experts=3))
    assert block.routing.num_experts == 3


def test_forward_with_routing_reaches_condconvs_inside_mmcv_modules():
    """One routing vector through a Sequential of ConvModule and DepthwiseSeparableConvModule equals calling each
    CondConv2d with it by hand."""
    torch.manual_seed(0)
    cfg = cond_conv_cfg(2)
    tower = nn.Sequential(
        ConvModule(4, 6, 3, padding=1, conv_cfg=cfg, norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU')),
        DepthwiseSeparableConvModule(6, 6, 3, padding=1, conv_cfg=cfg, norm_cfg=dict(type='BN')),
        nn.Conv2d(6, 5, 1)).eval()
    x, r = torch.randn(2, 4, 8, 8), torch.rand(2, 2)
    conv_module, separable, predictor = tower
    expected = conv_module.activate(conv_module.bn(conv_module.conv(x, r)))
    depthwise, pointwise = separable.depthwise_conv, separable.pointwise_conv
    expected = depthwise.activate(depthwise.bn(depthwise.conv(expected, r)))
    expected = predictor(pointwise.activate(pointwise.bn(pointwise.conv(expected, r))))
    torch.testing.assert_close(forward_with_routing(tower, x, r), expected)
    other = torch.rand(2, 2)
    assert not torch.allclose(forward_with_routing(tower, x, other), expected)


def test_cond_conv_module_builds_its_conv_through_mmcv_build_conv_layer(monkeypatch):
    import condconv_det.models.layers.cond_conv_module as module
    built = []
    original = module.build_conv_layer
    monkeypatch.setattr(module, 'build_conv_layer', lambda cfg, *a, **kw: built.append(cfg) or original(cfg, *a, **kw))
    cond = CondConvModule(4, 4, 3, padding=1, num_experts=2, routing_cfg=dict(type='SigmoidRouting'))
    static = CondConvModule(4, 4, 3, padding=1, num_experts=0)
    assert isinstance(cond.conv, CondConv2d) and cond.conv.routing is not None
    assert type(static.conv) is nn.Conv2d
    assert built == [cond_conv_cfg(2, dict(type='SigmoidRouting')), None]


def test_route_once_then_run_without_routing_passes_none():
    seen = []
    out = route_once_then_run(torch.ones(1, 2, 1, 1), None, lambda x, r: seen.append(r) or x * 2)
    assert seen == [None] and torch.equal(out, torch.full((1, 2, 1, 1), 2.))
