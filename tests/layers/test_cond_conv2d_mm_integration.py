"""CondConv2d as ``conv_cfg=dict(type='CondConv2d', ...)`` in mmcv's ConvModule and in mmdet necks."""
import math

import pytest
import torch

import condconv_det.layers  # noqa: F401  (registers CondConv2d in mmengine's root MODELS)
from condconv_det.layers import CondConv2d
from cond_conv_reference import reference_cond_conv2d

pytest.importorskip('mmcv.ops', reason='mmcv with compiled ops is needed for ConvModule / mmdet')


def _expert_std_ok(layer: CondConv2d) -> bool:
    fan_out = layer.out_channels * layer.kernel_size[0] * layer.kernel_size[1] // layer.groups
    return abs(layer.weight.detach().std().item() / math.sqrt(2 / fan_out) - 1) < 0.1


def test_conv_module_builds_runs_and_keeps_our_init():
    from mmcv.cnn import ConvModule
    torch.manual_seed(0)
    module = ConvModule(8, 16, 3, padding=1, conv_cfg=dict(type='CondConv2d', num_experts=4), norm_cfg=dict(type='BN'))
    assert isinstance(module.conv, CondConv2d) and module.conv.num_experts == 4
    assert module.conv.bias is None  # bias='auto' with a norm layer
    assert module.kernel_size == (3, 3) and module.transposed is False
    module.init_weights()  # ConvModule skips kaiming_init for convs that have init_weights()
    assert _expert_std_ok(module.conv)
    x = torch.randn(2, 8, 6, 6, requires_grad=True)
    out = module(x)
    assert out.shape == (2, 16, 6, 6)
    out.sum().backward()
    assert module.conv.weight.grad is not None and module.conv.routing.fc.weight.grad is not None


def test_depthwise_separable_conv_module_equals_the_naive_per_example_reference():
    from mmcv.cnn import DepthwiseSeparableConvModule
    torch.manual_seed(0)
    module = DepthwiseSeparableConvModule(8, 16, 3, padding=1, conv_cfg=dict(type='CondConv2d', num_experts=2),
                                          norm_cfg=dict(type='BN')).eval()
    depthwise, pointwise = module.depthwise_conv, module.pointwise_conv
    assert isinstance(depthwise.conv, CondConv2d) and depthwise.conv.groups == 8
    assert isinstance(pointwise.conv, CondConv2d) and pointwise.conv.groups == 1
    for bn in (depthwise.bn, pointwise.bn):  # non-trivial eval statistics, so the norm placement is checked too
        bn.running_mean.uniform_(-0.5, 0.5)
        bn.running_var.uniform_(0.5, 2.0)
    x = torch.randn(3, 8, 5, 5, dtype=torch.float64)
    module.double()

    def reference_conv_module(conv_module, inputs):  # each conv routes from its own input (its own routing)
        conv = conv_module.conv
        out = reference_cond_conv2d(inputs, conv.routing(inputs), conv.weight, conv.bias, conv.stride, conv.padding,
                                    conv.dilation, conv.groups)
        return conv_module.activate(conv_module.bn(out))

    expected = reference_conv_module(pointwise, reference_conv_module(depthwise, x))
    torch.testing.assert_close(module(x), expected, rtol=1e-10, atol=1e-10)
    module.train()
    module(x.requires_grad_()).sum().backward()
    assert depthwise.conv.routing.fc.weight.grad is not None and pointwise.conv.weight.grad is not None


@pytest.mark.parametrize('neck_cfg, in_shapes', [
    (dict(type='FPN', in_channels=[8, 16], out_channels=8, num_outs=3), [(2, 8, 8, 8), (2, 16, 4, 4)]),
    (dict(type='SSDNeck', in_channels=(8, 16), out_channels=(8, 16, 8), level_strides=(2, ), level_paddings=(1, ),
          l2_norm_scale=None, use_depthwise=True, norm_cfg=dict(type='BN')), [(2, 8, 8, 8), (2, 16, 4, 4)]),
])
def test_mmdet_neck_with_cond_conv(neck_cfg, in_shapes):
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=True)
    neck = MODELS.build(dict(neck_cfg, conv_cfg=dict(type='CondConv2d', num_experts=4)))
    cond_convs = [m for m in neck.modules() if isinstance(m, CondConv2d)]
    assert cond_convs, 'conv_cfg did not reach the neck convolutions'
    neck.init_weights()  # FPN's Xavier init_cfg targets 'Conv2d' layers; the experts keep their own init
    assert all(_expert_std_ok(m) for m in cond_convs if m.weight[0].numel() >= 64)
    inputs = [torch.randn(shape, requires_grad=True) for shape in in_shapes]
    outputs = neck(inputs)
    sum(o.sum() for o in outputs).backward()
    assert all(m.weight.grad is not None for m in cond_convs)
