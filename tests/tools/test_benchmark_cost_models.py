"""The cost models of the benchmarks (static conv + routing + kernel mixing as separate ops) compute what they say:
the static convolution's output, the mixing's shape, and they leave the benchmarked model untouched."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from condconv_det.layers import CondConv2d


def test_detector_cost_model_runs_static_convs_and_leaves_the_model_alone(load_tool) -> None:
    benchmark = load_tool('tools/analysis/benchmark_detector.py')
    torch.manual_seed(0)
    model = nn.Sequential(CondConv2d(4, 6, 3, padding=1, num_experts=4), nn.ReLU()).eval()
    x = torch.randn(1, 4, 8, 8)
    with torch.no_grad():
        before = model(x)
        cost_model = benchmark.cost_model_of(model)
        expected = F.relu(F.conv2d(x, model[0].weight[0], model[0].bias[0], padding=1))
        torch.testing.assert_close(cost_model(x), expected)
        torch.testing.assert_close(model(x), before)  # the original still runs CondConv
    assert not torch.allclose(before, expected)
    assert benchmark.cost_model_of(nn.Sequential(nn.Conv2d(4, 6, 3))) is None


def test_layer_mixing_limit_returns_static_output_and_mixed_kernels(load_tool) -> None:
    benchmark = load_tool('tools/analysis/benchmark_condconv.py')
    static = nn.Conv2d(8, 16, 1)
    condconv = CondConv2d(8, 16, 1, num_experts=4)
    limit = benchmark.MixingLimit(static, condconv)
    x = torch.randn(3, 8, 5, 5)
    y, mixed = limit(x)
    torch.testing.assert_close(y, static(x))
    assert mixed.shape == (3, 16 * 8)
    routing = torch.rand(3, 4)
    _, mixed = limit(x, routing)
    torch.testing.assert_close(mixed.view(3, 16, 8, 1, 1), torch.einsum('be,eoikl->boikl', routing, condconv.weight))
