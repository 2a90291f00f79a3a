"""Every CondConv strategy equals the naive per-example reference, outputs and gradients, float64 to 1e-10, on every
device (``device``: CPU, and CUDA when present; tests/conftest.py)."""
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from condconv_det.layers import STRATEGIES, CondConv2d, select_strategy
from cond_conv_reference import reference_cond_conv2d

ATOL = 1e-10


def _strategies_for(batch: int, kernel_size: int) -> list:
    names = [name for name in STRATEGIES if not (name == 'mixed_single' and batch != 1)]
    return [name for name in names if not (name == 'bmm_1x1' and kernel_size != 1)] + ['auto']


@st.composite
def cond_conv_cases(draw):
    kernel_size = draw(st.sampled_from([1, 3, 5]))
    group_kind = draw(st.sampled_from(['one', 'depthwise', 'other']))
    if group_kind == 'one':
        groups, in_channels, out_channels = 1, draw(st.sampled_from([3, 4])), draw(st.sampled_from([2, 5]))
    elif group_kind == 'depthwise':
        groups = in_channels = draw(st.sampled_from([3, 4]))
        out_channels = in_channels * draw(st.sampled_from([1, 2]))
    else:
        groups = 2
        in_channels, out_channels = 2 * draw(st.sampled_from([2, 3])), 2 * draw(st.sampled_from([1, 2]))
    dilation = draw(st.sampled_from([1, 2]))
    padding = draw(st.sampled_from([0, dilation * (kernel_size // 2)]))
    height = draw(st.integers(dilation * (kernel_size - 1) + 1, 9))
    width = draw(st.integers(dilation * (kernel_size - 1) + 1, 9))
    padding_mode = 'zeros'
    if padding and padding < min(height, width):
        padding_mode = draw(st.sampled_from(['zeros', 'zeros', 'reflect', 'circular']))
    return dict(
        in_channels=in_channels, out_channels=out_channels, kernel_size=kernel_size, groups=groups,
        stride=draw(st.sampled_from([1, 2])), dilation=dilation, padding=padding, padding_mode=padding_mode,
        bias=draw(st.booleans()), num_experts=draw(st.sampled_from([1, 4, 8])),
        batch=draw(st.sampled_from([1, 2, 7])), height=height, width=width,
        layout=draw(st.sampled_from(['contiguous', 'channels_last', 'channels_last_model', 'transposed_view'])))


def _make_input(case: dict, generator: torch.Generator, device: str) -> torch.Tensor:
    shape = (case['batch'], case['in_channels'], case['height'], case['width'])
    if case['layout'] == 'transposed_view':  # a non-contiguous view: H and W swapped in memory
        base = torch.randn(shape[0], shape[1], shape[3], shape[2], dtype=torch.float64, generator=generator)
        return base.to(device).transpose(2, 3).requires_grad_()
    x = torch.randn(shape, dtype=torch.float64, generator=generator).to(device)
    if case['layout'] in ('channels_last', 'channels_last_model'):
        x = x.contiguous(memory_format=torch.channels_last)
    return x.requires_grad_()


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(case=cond_conv_cases())
def test_every_strategy_matches_reference_outputs_and_grads(case, device):
    generator = torch.Generator().manual_seed(0)  # CPU draws, moved to the device: the same case on every device
    conv_args = {key: case[key] for key in ('in_channels', 'out_channels', 'kernel_size', 'stride', 'padding',
                                            'dilation', 'groups', 'bias', 'num_experts', 'padding_mode')}
    layer = CondConv2d(**conv_args, routing_cfg=None).double()
    with torch.no_grad():  # non-zero biases so that bias errors show
        if layer.bias is not None:
            layer.bias.normal_(generator=generator)
    layer = layer.to(device)
    if case['layout'] == 'channels_last_model':  # expert kernels stored channels_last too
        layer = layer.to(memory_format=torch.channels_last)
    x = _make_input(case, generator, device)
    routing = torch.rand(case['batch'], case['num_experts'], dtype=torch.float64, generator=generator).to(device)
    routing.requires_grad_()
    inputs = [x, routing, layer.weight] + ([layer.bias] if layer.bias is not None else [])
    expected = reference_cond_conv2d(x, routing, layer.weight, layer.bias, layer.stride, layer.padding,
                                     layer.dilation, layer.groups, layer.padding_mode)
    upstream = torch.randn(expected.shape, dtype=torch.float64, generator=generator).to(device)
    expected_grads = torch.autograd.grad(expected, inputs, upstream)
    for strategy in _strategies_for(case['batch'], case['kernel_size']):
        layer.strategy = strategy
        actual = layer(x, routing)
        assert actual.shape == expected.shape, strategy
        torch.testing.assert_close(actual, expected, atol=ATOL, rtol=0, msg=lambda m: f'{strategy}: {m}')
        actual_grads = torch.autograd.grad(actual, inputs, upstream)
        for name, got, want in zip(['x', 'routing', 'weight', 'bias'], actual_grads, expected_grads):
            torch.testing.assert_close(got, want, atol=ATOL, rtol=0, msg=lambda m: f'{strategy} d{name}: {m}')
        with torch.no_grad():
            torch.testing.assert_close(layer(x, routing), expected, atol=ATOL, rtol=0,
                                       msg=lambda m: f'{strategy} no_grad: {m}')


@pytest.mark.parametrize('strategy', sorted(STRATEGIES))
def test_gradcheck_small_shapes(strategy, device):
    kernel_size, batch = (1, 1) if strategy == 'bmm_1x1' else (3, 2)
    batch = 1 if strategy == 'mixed_single' else batch
    layer = CondConv2d(4, 4, kernel_size, stride=2, padding=kernel_size // 2, groups=2, num_experts=3,
                       routing_cfg=None, strategy=strategy).double().to(device)
    x = torch.randn(batch, 4, 5, 4, dtype=torch.float64, device=device, requires_grad=True)
    routing = torch.rand(batch, 3, dtype=torch.float64, device=device, requires_grad=True)

    def run(x, routing, weight, bias):
        return torch.func.functional_call(layer, {'weight': weight, 'bias': bias}, (x, routing))

    assert torch.autograd.gradcheck(run, (x, routing, layer.weight, layer.bias))


@pytest.mark.parametrize('strategy, kernel_size, channels_last', [('bmm_1x1', 1, False), ('bmm_1x1', 1, True),
                                                                     ('unfold_bmm', 3, False)])
def test_batched_matmul_double_backward(strategy, kernel_size, channels_last):
    layer = CondConv2d(4, 4, kernel_size, padding=kernel_size // 2, num_experts=3,
                       groups=1 if channels_last else 2, routing_cfg=None, strategy=strategy).double()
    x = torch.randn(2, 4, 3, 3, dtype=torch.float64)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    x.requires_grad_()
    routing = torch.rand(2, 3, dtype=torch.float64, requires_grad=True)

    def run(x, routing, weight, bias):
        return torch.func.functional_call(layer, {'weight': weight, 'bias': bias}, (x, routing))

    assert torch.autograd.gradgradcheck(run, (x, routing, layer.weight, layer.bias))


def test_gradcheck_with_own_routing():
    layer = CondConv2d(3, 4, 3, padding=1, num_experts=2, routing_cfg=dict(type='SigmoidRouting')).double()
    x = torch.randn(2, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(layer, (x, ))


@pytest.mark.parametrize('strategy, batch, kernel_size, match', [
    ('mixed_single', 2, 3, 'batch of 1'),
    ('bmm_1x1', 1, 3, '1x1'),
])
def test_forcing_an_inapplicable_strategy_raises(strategy, batch, kernel_size, match):
    layer = CondConv2d(4, 4, kernel_size, num_experts=2, strategy=strategy)
    with pytest.raises(ValueError, match=match):
        layer(torch.randn(batch, 4, 6, 6))


def test_unknown_strategy_raises():
    with pytest.raises(ValueError, match="strategy='fastest'"):
        CondConv2d(4, 4, 3, strategy='fastest')
    layer = CondConv2d(4, 4, 3)
    layer.strategy = 'fastest'
    with pytest.raises(ValueError, match="strategy='fastest'"):
        layer(torch.randn(2, 4, 6, 6))


@pytest.mark.parametrize('device_type', ['cpu', 'cuda'])
@pytest.mark.parametrize('grad_enabled', [True, False])
@pytest.mark.parametrize('batch', [1, 2, 8, 64])
@pytest.mark.parametrize('kernel_size, groups, channels', [((1, 1), 1, 64), ((3, 3), 64, 64), ((3, 3), 1, 64),
                                                            ((5, 5), 2, 64), ((1, 1), 4, 64)])
def test_auto_dispatch_picks_an_applicable_strategy(device_type, grad_enabled, batch, kernel_size, groups, channels):
    for exporting in (False, True):
        name = select_strategy(batch, kernel_size, groups, channels, channels, device_type, grad_enabled, exporting)
        assert name in STRATEGIES
        if name == 'mixed_single':
            assert batch == 1 and not exporting
        if name == 'bmm_1x1':
            assert kernel_size == (1, 1)
