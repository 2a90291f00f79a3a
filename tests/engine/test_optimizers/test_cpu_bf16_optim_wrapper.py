"""CPUBF16OptimWrapper: the forward pass runs under CPU bf16 autocast (CondConv's routing in float32, its convolution
in bf16), the step updates float32 weights, and autocast ends with the context. The 200-iteration training of the
demo model in bf16: tests/reliability/test_amp.py."""
import torch
from mmdet.registry import OPTIM_WRAPPERS

from condconv_det.engine.optimizers import CPUBF16OptimWrapper
from condconv_det.layers import CondConv2d


def test_forward_in_cpu_bf16_autocast_routing_in_float32_weights_stay_float32():
    torch.manual_seed(0)
    model = CondConv2d(4, 8, 3, padding=1, num_experts=2)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    wrapper = OPTIM_WRAPPERS.build(dict(type='CPUBF16OptimWrapper',
                                        optimizer=torch.optim.SGD(model.parameters(), lr=0.1)))
    assert isinstance(wrapper, CPUBF16OptimWrapper)
    routing_dtypes = []
    model.routing.register_forward_hook(lambda module, args, output: routing_dtypes.append(output.dtype))
    with wrapper.optim_context(model):
        assert torch.is_autocast_enabled('cpu') and torch.get_autocast_dtype('cpu') == torch.bfloat16
        out = model(torch.randn(2, 4, 6, 6))
    assert not torch.is_autocast_enabled('cpu')
    assert out.dtype == torch.bfloat16 and routing_dtypes == [torch.float32]
    wrapper.update_params(out.float().square().mean())
    for name, param in model.named_parameters():
        assert param.dtype == torch.float32 and not torch.equal(param, before[name]), name
