"""The comparison points of benchmark_condconv.py (exact alternatives that strategy='auto' never picks) equal
CondConv2d, outputs and gradients, float64 to 1e-10."""
import pytest
import torch

from condconv_det.layers import CondConv2d

ATOL = 1e-10


@pytest.mark.parametrize('name', ['depthwise_nhwc', 'per_example', 'expert_outputs'])
@pytest.mark.parametrize('kernel_size, groups, stride, bias, channels_last', [
    (3, 4, 1, True, False), (3, 4, 2, False, True), (1, 1, 1, True, True), (3, 2, 2, True, False),
    (5, 1, 1, False, False)])
def test_comparison_point_matches_cond_conv2d(load_tool, name, kernel_size, groups, stride, bias, channels_last):
    benchmark = load_tool('tools/analysis/benchmark_condconv.py')
    if name == 'depthwise_nhwc' and groups != 4:
        pytest.skip('depthwise_nhwc is for depthwise convs')
    torch.manual_seed(0)
    layer = CondConv2d(4, 8, kernel_size, stride=stride, padding=kernel_size // 2, groups=groups, bias=bias,
                       num_experts=3).double()
    if bias:
        torch.nn.init.normal_(layer.bias)
    point = benchmark.ComparisonPoint(layer, benchmark.COMPARISON_POINTS[name])
    x = torch.randn(3, 4, 7, 6, dtype=torch.float64)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_()
    expected = layer(x)
    actual = point(x)
    torch.testing.assert_close(actual, expected, atol=ATOL, rtol=0)
    upstream = torch.randn(expected.shape, dtype=torch.float64)
    inputs = [x] + list(layer.parameters())
    expected_grads = torch.autograd.grad(expected, inputs, upstream)
    for got, want in zip(torch.autograd.grad(actual, inputs, upstream), expected_grads):
        torch.testing.assert_close(got, want, atol=ATOL, rtol=0)
    if name == 'depthwise_nhwc':
        assert actual.is_contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)


def test_applicable_skips_what_a_case_cannot_run(load_tool):
    benchmark = load_tool('tools/analysis/benchmark_condconv.py')
    depthwise, pointwise = benchmark.CASES[5], benchmark.CASES[0]
    runs = {(name, batch, case.name) for name in ('depthwise_nhwc', 'bmm_1x1', 'mixed_single', 'per_example')
            for batch in (1, 8) for case in (depthwise, pointwise) if benchmark.applicable(name, batch, case)}
    assert runs == {('depthwise_nhwc', 1, depthwise.name), ('depthwise_nhwc', 8, depthwise.name),
                    ('bmm_1x1', 1, pointwise.name), ('bmm_1x1', 8, pointwise.name),
                    ('mixed_single', 1, depthwise.name), ('mixed_single', 1, pointwise.name),
                    ('per_example', 1, depthwise.name), ('per_example', 8, depthwise.name),
                    ('per_example', 1, pointwise.name), ('per_example', 8, pointwise.name)}
