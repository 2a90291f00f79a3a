"""The backbone block loop of ``BaseCondConvBackbone``: a new architecture is a table of named rows and a
``make_block``; the base places CondConv per stage, tracks the widths, spaces stochastic depth linearly over the
blocks, and attaches the head conv and the classifier."""
from typing import NamedTuple

import pytest
import torch
import torch.nn as nn
from mmcv.cnn.bricks import DropPath

import condconv_det  # noqa: F401
from condconv_det.layers import CondConv2d
from condconv_det.models.backbones.base_cond_conv_backbone import BaseCondConvBackbone
from condconv_det.models.layers import CondConvModule
from mmdet.registry import MODELS


class Row(NamedTuple):
    channels: int
    num_blocks: int
    stride: int


class TinyNet(BaseCondConvBackbone):
    """Plain 3×3 conv blocks; records the arguments the base passes to ``make_block``."""
    arch_settings = (Row(16, 1, 1), Row(24, 2, 2), Row(32, 2, 2))
    head_channels = 64
    default_cond_stages = (2, 3)

    def __init__(self, out_indices=(1, 3), **kwargs):
        super().__init__(out_indices=out_indices, **kwargs)

    def make_block(self, row, in_channels, out_channels, stride, num_experts, drop_path_rate):
        self.calls = getattr(self, 'calls', []) + [(row, in_channels, out_channels, stride, num_experts,
                                                    drop_path_rate)]
        return CondConvModule(in_channels, out_channels, 3, stride=stride, padding=1, num_experts=num_experts,
                              routing_cfg=self.routing_cfg, norm_cfg=self.norm_cfg, act_cfg=self.act_cfg)


def test_a_new_architecture_is_a_table_and_make_block():
    net = TinyNet(num_experts=2, drop_path_rate=0.5, out_indices=(0, 2, 3), num_classes=0).eval()
    assert net.layers == ['layer1', 'layer2', 'layer3', 'conv2']
    rows = TinyNet.arch_settings
    assert net.calls == [(rows[0], 32, 16, 1, 0, 0.0), (rows[1], 16, 24, 2, 0, 0.1), (rows[1], 24, 24, 1, 0, 0.2),
                         (rows[2], 24, 32, 2, 2, 0.3), (rows[2], 32, 32, 1, 2, 0.5 * 4 / 5)]
    assert isinstance(net.conv2.conv, CondConv2d) and not isinstance(net.conv1.conv, CondConv2d)
    outs = net(torch.randn(2, 3, 32, 32))
    assert [tuple(o.shape) for o in outs] == [(2, 16, 16, 16), (2, 32, 4, 4), (2, 64, 4, 4)]


def test_classifier_follows_the_last_stage_and_returns_logits():
    cond = TinyNet(num_experts=2, num_classes=5).eval()
    static_head = TinyNet(num_experts=2, num_classes=5, cond_stages=(2, )).eval()
    assert isinstance(cond.classifier.fc, CondConv2d) and isinstance(static_head.classifier.fc, nn.Linear)
    assert cond.with_classifier and cond(torch.randn(2, 3, 32, 32)).shape == (2, 5)
    assert not TinyNet(num_experts=2).with_classifier and not hasattr(TinyNet(num_experts=2), 'classifier')


def test_the_base_is_abstract():
    with pytest.raises(TypeError, match='make_block'):
        type('NoBlocks', (BaseCondConvBackbone, ), dict(arch_settings=TinyNet.arch_settings))()


def test_stochastic_depth_grows_linearly_over_the_blocks_of_efficientnet():
    net = MODELS.build(dict(type='CondConvEfficientNet', widen_factor=0.25, num_experts=2, drop_path_rate=0.2))
    blocks = [block for name in net.layers[:-1] for block in getattr(net, name)]
    assert len(blocks) == 16
    rates = [block.drop_path.drop_prob if isinstance(block.drop_path, DropPath) else 0. for block in blocks]
    assert rates == pytest.approx([0.2 * k / 16 for k in range(16)])
