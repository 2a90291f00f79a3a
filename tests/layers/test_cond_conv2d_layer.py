"""CondConv2d module behaviour: contract attributes, init, argument errors, dtypes, autocast, tracing, export."""
import math
import os
import shutil
import warnings

import pytest
import torch
import torch.nn as nn
from mmengine.registry import MODELS

from condconv_det.layers import CondConv2d, SoftmaxRouting
from cond_conv_reference import reference_cond_conv2d


def test_attributes_conv_module_reads():
    layer = CondConv2d(8, 16, 3, stride=2, padding=1, dilation=1, groups=2, num_experts=4)
    assert (layer.in_channels, layer.out_channels, layer.groups) == (8, 16, 2)
    assert layer.kernel_size == (3, 3) and layer.stride == (2, 2) and layer.padding == (1, 1)
    assert layer.dilation == (1, 1) and layer.transposed is False and layer.output_padding == (0, 0)
    assert layer.padding_mode == 'zeros'
    assert layer.weight.shape == (4, 16, 4, 3, 3) and layer.bias.shape == (4, 16)
    assert MODELS.get('CondConv2d') is CondConv2d
    assert CondConv2d(8, 16, 1, bias=False).bias is None


def test_init_statistics_per_expert():
    torch.manual_seed(0)
    layer = CondConv2d(64, 128, 3, groups=2, num_experts=4)
    fan_out = 128 * 3 * 3 // 2
    stds = layer.weight.detach().flatten(1).std(dim=1)
    torch.testing.assert_close(stds, torch.full((4, ), math.sqrt(2 / fan_out)), rtol=0.03, atol=0)
    assert layer.weight.detach().flatten(1).mean(dim=1).abs().max() < 3e-3
    assert torch.equal(layer.bias, torch.zeros(4, 128))
    correlation = torch.corrcoef(layer.weight.detach().flatten(1))  # experts drawn independently
    assert (correlation - torch.eye(4)).abs().max() < 0.02


def test_routing_module_and_shared_routing_weights():
    layer = CondConv2d(4, 6, 3, padding=1, num_experts=3)
    x = torch.randn(2, 4, 5, 5)
    own = layer(x)
    shared = layer(x, layer.routing(x))
    torch.testing.assert_close(own, shared)
    assert CondConv2d(4, 6, 1, routing_cfg=None).routing is None
    softmax_layer = CondConv2d(4, 6, 1, routing_cfg=dict(type='SoftmaxRouting', temperature=5.0))
    assert isinstance(softmax_layer.routing, SoftmaxRouting) and softmax_layer.routing.temperature == 5.0


def test_single_expert_is_a_scaled_convolution():
    layer = CondConv2d(3, 5, 3, padding=1, num_experts=1, routing_cfg=None)
    x = torch.randn(2, 3, 6, 6)
    routing = torch.tensor([[1.0], [0.5]])
    static = nn.functional.conv2d(x, layer.weight[0], layer.bias[0], padding=1)
    torch.testing.assert_close(layer(x, routing)[0], static[0])
    torch.testing.assert_close(layer(x, routing)[1], 0.5 * static[1], atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize('kwargs, name', [
    (dict(num_experts=0), 'num_experts'),
    (dict(num_experts=2.5), 'num_experts'),
    (dict(num_experts=True), 'num_experts'),
    (dict(in_channels=6, groups=4), 'groups'),
    (dict(out_channels=6, groups=4), 'groups'),
    (dict(groups=0), 'groups'),
    (dict(kernel_size=0), 'kernel_size'),
    (dict(stride=(1, 0)), 'stride'),
    (dict(padding=-1), 'padding'),
    (dict(padding='same'), 'padding'),
    (dict(padding_mode='mirror'), 'padding_mode'),
    (dict(strategy='bmm'), 'strategy'),
    (dict(routing_cfg='SigmoidRouting'), 'routing_cfg'),
])
def test_invalid_arguments_raise_value_error(kwargs, name):
    args = dict(in_channels=8, out_channels=8, kernel_size=3)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        CondConv2d(**args)


def test_unknown_keyword_is_rejected():
    with pytest.raises(TypeError):
        CondConv2d(8, 8, 3, experts=4)


@pytest.mark.parametrize('routing, match', [
    (torch.rand(2, 4, 1), r'routing_weights must be \(B, num_experts=4\)'),
    (torch.rand(2, 3), r'routing_weights must be \(B, num_experts=4\)'),
    (torch.rand(3, 4), 'batch 3 != input batch 2'),
    (torch.ones(2, 4, dtype=torch.int64), 'floating point'),
    (torch.rand(2, 4, device='meta'), 'routing_weights is on meta'),
])
def test_invalid_routing_weights_raise_value_error(routing, match):
    layer = CondConv2d(4, 4, 3, num_experts=4)
    with pytest.raises(ValueError, match=match):
        layer(torch.randn(2, 4, 5, 5), routing)


def test_missing_routing_and_bad_input_raise_value_error():
    with pytest.raises(ValueError, match='pass routing_weights'):
        CondConv2d(4, 4, 3, routing_cfg=None)(torch.randn(2, 4, 5, 5))
    with pytest.raises(ValueError, match='x must be'):
        CondConv2d(4, 4, 3)(torch.randn(2, 3, 5, 5))


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_dtypes_and_mismatched_routing_dtype(dtype):
    layer = CondConv2d(4, 6, 3, padding=1, num_experts=3).to(dtype)
    x = torch.randn(2, 4, 5, 5, dtype=dtype)
    assert layer(x).dtype == dtype
    routing = torch.rand(2, 3, dtype=torch.float32)
    out = layer(x, routing)  # float routing weights are cast to the kernels' dtype
    assert out.dtype == dtype
    expected = reference_cond_conv2d(x, routing.to(dtype), layer.weight, layer.bias, layer.stride, layer.padding,
                                     layer.dilation, layer.groups)
    torch.testing.assert_close(out, expected)


@pytest.mark.parametrize('kernel_size, groups, batch', [(1, 1, 4), (3, 1, 4), (3, 8, 4), (3, 1, 1), (1, 2, 3)])
def test_autocast_bf16_runs_in_bf16_without_dtype_errors(kernel_size, groups, batch):
    layer = CondConv2d(8, 16, kernel_size, padding=kernel_size // 2, groups=groups, num_experts=4)
    x = torch.randn(batch, 8, 6, 6)
    expected = layer(x)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = layer(x)
        shared = layer(x, torch.rand(batch, 4))  # float32 routing weights from a block
        out.float().sum().backward()
    assert out.dtype == torch.bfloat16 and shared.dtype == torch.bfloat16
    assert layer.weight.grad.dtype == torch.float32 and layer.routing.fc.weight.grad.dtype == torch.float32
    torch.testing.assert_close(out.float(), expected, atol=0.1, rtol=0.05)


@pytest.mark.parametrize('strategy', ['auto', 'grouped', 'bmm_1x1', 'unfold_bmm'])
@pytest.mark.parametrize('kernel_size, groups', [(1, 1), (3, 1), (3, 8), (1, 2)])
def test_channels_last_and_non_contiguous_inputs(kernel_size, groups, strategy, device):
    if strategy == 'bmm_1x1' and kernel_size != 1:
        pytest.skip('bmm_1x1 is for 1x1 kernels')
    layer = CondConv2d(8, 8, kernel_size, padding=kernel_size // 2, groups=groups, num_experts=4,
                       strategy=strategy).to(device)
    x = torch.randn(3, 8, 6, 7, device=device)
    expected = layer(x)
    torch.testing.assert_close(layer(x.contiguous(memory_format=torch.channels_last)), expected)
    torch.testing.assert_close(layer(x.transpose(2, 3).contiguous().transpose(2, 3)), expected)
    layer_cl = layer.to(memory_format=torch.channels_last)  # the expert bank stays expert-major contiguous
    assert layer_cl.weight.shape == (4, 8, 8 // groups, kernel_size, kernel_size)
    assert layer_cl.weight.is_contiguous()
    torch.testing.assert_close(layer_cl(x.contiguous(memory_format=torch.channels_last)), expected)
    torch.testing.assert_close(layer_cl(x), expected)


def test_conversions_keep_the_expert_bank_and_its_gradient_expert_major():
    # _apply converts the 5-D bank as its (E, P) matrix: dtype as usual, channels_last leaves it contiguous.
    layer = CondConv2d(4, 6, 3, padding=1, num_experts=3)
    layer(torch.randn(2, 4, 5, 5)).sum().backward()
    weight, grad = layer.weight.detach().clone(), layer.weight.grad.clone()
    layer = layer.to(memory_format=torch.channels_last).double()
    for tensor, before in ((layer.weight, weight), (layer.weight.grad, grad)):
        assert tensor.shape == (3, 6, 4, 3, 3) and tensor.dtype == torch.float64 and tensor.is_contiguous()
        torch.testing.assert_close(tensor.detach(), before.double(), atol=0, rtol=0)

    def fail(tensor):
        raise RuntimeError('conversion failed')

    with pytest.raises(RuntimeError, match='conversion failed'):
        layer._apply(fail)
    assert layer.weight.shape == layer.weight.grad.shape == (3, 6, 4, 3, 3)  # restored


@pytest.mark.parametrize('kernel_size', [1, 3])
def test_jit_trace(kernel_size):
    layer = CondConv2d(4, 6, kernel_size, padding=kernel_size // 2, num_experts=3).eval()
    x = torch.randn(2, 4, 5, 5)
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        traced = torch.jit.trace(layer, (x, ))
    torch.testing.assert_close(traced(x), layer(x))
    other = torch.randn(2, 4, 5, 5)
    torch.testing.assert_close(traced(other), layer(other))


def test_torch_compile_graph_capture():
    # aot_eager checks that dynamo and AOTAutograd capture the layer (forward and backward) without needing the
    # C++ toolchain of inductor; the inductor run is in the next test.
    layer = CondConv2d(4, 6, 3, padding=1, num_experts=3)
    compiled = torch.compile(layer, backend='aot_eager', fullgraph=True)
    x = torch.randn(2, 4, 5, 5, requires_grad=True)
    out = compiled(x)
    torch.testing.assert_close(out, layer(x))
    out.sum().backward()
    assert x.grad is not None and layer.weight.grad is not None


@pytest.mark.skipif(shutil.which('g++') is None and shutil.which('c++') is None,
                    reason='torch.compile inductor needs a C++ compiler on CPU')
@pytest.mark.skipif(os.environ.get('CONDCONV_TEST_INDUCTOR') != '1',
                    reason='inductor compiles C++ (~30 s on 2 cores, over the layer tests budget); '
                    'run with CONDCONV_TEST_INDUCTOR=1')
def test_torch_compile_inductor_tiny():
    torch._dynamo.reset()
    layer = CondConv2d(2, 3, 1, num_experts=2).eval()
    compiled = torch.compile(layer)
    x = torch.randn(2, 2, 3, 3)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x), layer(x))


@pytest.mark.parametrize('kernel_size', [1, 3])
def test_onnx_export_with_dynamic_batch(kernel_size):
    # While exporting, strategy='auto' picks batch-agnostic strategies: bmm_1x1 for 1x1 kernels, unfold_bmm
    # otherwise ('grouped' bakes groups = g * B into the graph and cannot have a dynamic batch).
    pytest.importorskip('onnx')
    ort = pytest.importorskip('onnxruntime')
    import io
    layer = CondConv2d(4, 6, kernel_size, padding=kernel_size // 2, num_experts=3).eval()
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter('ignore')
        torch.onnx.export(layer, (torch.randn(2, 4, 5, 5), ), buffer, input_names=['x'], output_names=['y'],
                          dynamic_axes={'x': {0: 'batch'}, 'y': {0: 'batch'}}, opset_version=17, dynamo=False)
    session = ort.InferenceSession(buffer.getvalue())
    for batch in (1, 3):
        x = torch.randn(batch, 4, 5, 5)
        with torch.no_grad():
            expected = layer(x).numpy()
        actual = session.run(None, {'x': x.numpy()})[0]
        assert abs(actual - expected).max() < 1e-5


@pytest.mark.parametrize('kernel_size, groups', [(1, 1), (3, 1), (3, 4)])
def test_inference_mode_then_no_grad_then_training(kernel_size, groups):
    layer = CondConv2d(4, 8, kernel_size, padding=kernel_size // 2, groups=groups, num_experts=3)
    x = torch.randn(2, 4, 5, 5)
    with torch.inference_mode():
        expected = layer(x)
    with torch.no_grad():
        torch.testing.assert_close(layer(x), expected)
    out = layer(x.requires_grad_())
    torch.testing.assert_close(out, expected)
    out.sum().backward()


@pytest.mark.parametrize('kernel_size,groups', [(3, 1), (3, 8), (1, 1)])
def test_torch_export_keeps_the_batch_dynamic(kernel_size, groups):
    """torch.export (the default ONNX path in torch 2.13) must trace an export-safe strategy: one exported program
    serves every batch size."""
    layer = CondConv2d(8, 8, kernel_size, padding=kernel_size // 2, groups=groups, num_experts=4).eval()
    exported = torch.export.export(layer, (torch.randn(3, 8, 10, 10), ),
                                   dynamic_shapes={'x': {0: torch.export.Dim('batch', min=1, max=64)}})
    for batch in (1, 5):
        x = torch.randn(batch, 8, 10, 10)
        torch.testing.assert_close(exported.module()(x), layer(x), rtol=1e-5, atol=1e-5)
