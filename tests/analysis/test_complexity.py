"""CondConv-aware MADDs: per-layer closed form, per-example semantics, and the paper's table."""
import pytest
import torch.nn as nn

import condconv_det  # noqa: F401
from condconv_det.analysis import condconv_layer_madds, get_madds
from condconv_det.layers import CondConv2d


@pytest.mark.parametrize('kwargs', [dict(kernel_size=3, padding=1), dict(kernel_size=1),
                                    dict(kernel_size=3, padding=1, stride=2, groups=16), dict(kernel_size=1,
                                                                                              bias=False)])
@pytest.mark.parametrize('batch', [1, 3])
def test_condconv_layer_cost_is_conv_plus_mixing_plus_routing_per_example(kwargs, batch):
    layer = CondConv2d(16, 32, num_experts=4, **kwargs)
    traced = get_madds(layer, (16, 10, 10), batch_size=batch)['madds']
    assert traced == condconv_layer_madds(layer, (16, 10, 10))
    static = nn.Conv2d(16, 32, **kwargs)
    conv = get_madds(static, (16, 10, 10))['madds']
    p = layer.weight[0].numel() + (32 if layer.bias is not None else 0)
    assert traced == conv + 4 * p + 16 * 100 + 16 * 4


def test_block_shared_routing_is_counted_once_per_block():
    from mmdet.registry import MODELS
    base = get_madds(MODELS.build(dict(type='CondConvMobileNetV2', num_experts=0, widen_factor=0.5)),
                     (3, 64, 64))['madds']
    cond_model = MODELS.build(dict(type='CondConvMobileNetV2', num_experts=2, widen_factor=0.5, cond_stages=(6, )))
    cond = get_madds(cond_model, (3, 64, 64))['madds']
    block = cond_model.layer7[0]
    mixing = 2 * sum(m.weight[0].numel() for m in block.modules() if isinstance(m, CondConv2d))
    c = block.routing.in_channels
    assert cond - base == mixing + c * 2 * 2 + c * 2  # one pool over the 2x2 input + one routing FC


def test_total_is_linear_in_batch_and_bn_is_folded():
    from mmdet.registry import MODELS
    model = MODELS.build(dict(type='CondConvEfficientNet', num_experts=2, widen_factor=0.25))
    one = get_madds(model, (3, 64, 64), batch_size=1)
    two = get_madds(model, (3, 64, 64), batch_size=2)
    assert one['madds'] == two['madds']
    assert 'batch_norm' not in one['by_operator']
    assert get_madds(model, (3, 64, 64), count_bn=True)['madds'] > one['madds']


@pytest.mark.slow
def test_get_flops_table_matches_the_paper(load_tool):
    """MobileNetV1/V2 within 1% (both columns), the others within 3%."""
    get_flops = load_tool('tools/analysis/get_flops.py')
    rows = get_flops.paper_table()
    print(get_flops.format_table(rows))
    for row in rows:
        tol = 0.01 if 'MobileNetV' in row['backbone'] else 0.03
        assert abs(row['base'] / row['paper_base'] - 1) <= tol, row
        assert abs(row['cond'] / row['paper_cond'] - 1) <= tol, row


def test_experts_sweep_reports_growing_cost_and_plots(tmp_path, load_tool):
    sweep = load_tool('tools/analysis/experts_sweep.py')
    rows = sweep.sweep('CondConvMobileNetV2', [1, 4], (32, 32), 10, runs=1, kwargs=dict(widen_factor=0.25))
    assert [r['experts'] for r in rows] == [0, 1, 4]
    assert rows[0]['madds'] < rows[1]['madds'] < rows[2]['madds']
    assert rows[0]['params'] < rows[1]['params'] < rows[2]['params']
    assert all(r['latency'] > 0 for r in rows)
    sweep.plot(rows, 'CondConvMobileNetV2', str(tmp_path / 'sweep.png'))
    assert (tmp_path / 'sweep.png').stat().st_size > 0
