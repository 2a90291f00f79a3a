"""MADDs of CondConv networks on top of mmengine's jit flop counter (``mmengine.analysis.FlopAnalyzer``).

mmengine traces the model and counts one multiply-add as one flop, which is what the paper calls MADDs. A CondConv
layer (Eq. 1 and 2 of Yang et al., 2019) costs per example

* routing: global average pool (``C·H·W`` adds, ``aten::mean``) and the routing FC (``C·E``, ``aten::linear``);
* kernel mixing ``W_b = Σ_i r_{b,i} W_i``: ``E·P`` multiply-adds (``aten::mm`` of ``(B, E) @ (E, P)``);
* the convolution with the mixed kernel, once per example: under tracing ``CondConv2d`` runs its export-safe
  strategies, a batched matrix product per example (``aten::bmm`` / ``aten::baddbmm`` of
  ``(B·g, out/g, in/g·k²) @ (B·g, in/g·k², HW)``), i.e. exactly the static conv's MACs per example.

mmengine already counts ``mm``, ``bmm`` and ``linear``; the handles added here are ``aten::baddbmm`` (a CondConv with
bias) and ``aten::mean`` (the routing pool). BatchNorm is not counted by default (``count_bn=False``): it folds into
the preceding conv at inference, the convention of the MADDs the paper reports. Figures are per example (the
traced total divided by the batch size); tests check that the total is linear in the batch.
"""
from collections import Counter
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.analysis import ActivationAnalyzer, FlopAnalyzer, parameter_count
from mmengine.analysis.jit_handles import bmm_flop_jit, elementwise_flop_counter
from mmengine.analysis.print_helper import _format_size, complexity_stats_table
from torch import Tensor

from condconv_det.layers import CondConv2d


def baddbmm_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """``baddbmm(bias, A, B)``: the MACs of ``A @ B`` (bias additions are not counted, as for convolutions)."""
    return bmm_flop_jit(inputs[1:3], outputs)


def mean_flop_jit(inputs: List[Any], outputs: List[Any]) -> int:
    """A mean over dimensions costs one add per input element (as mmengine's ``adaptive_avg_pool2d`` handle)."""
    return int(elementwise_flop_counter(1, 0)(inputs, outputs))


CONDCONV_FLOP_HANDLES = {'aten::baddbmm': baddbmm_flop_jit, 'aten::mean': mean_flop_jit}


class CondConvFlopAnalyzer(FlopAnalyzer):
    """mmengine's ``FlopAnalyzer`` plus the CondConv handles; BN ignored unless ``count_bn``."""

    def __init__(self, model: nn.Module, inputs: Union[Tensor, Tuple[Tensor, ...]], count_bn: bool = False) -> None:
        super().__init__(model, inputs)
        self.set_op_handle(**CONDCONV_FLOP_HANDLES)
        if not count_bn:  # an empty Counter: counted as nothing, and absent from by_operator()
            self.set_op_handle('aten::batch_norm', lambda inputs, outputs: Counter())
        self.unsupported_ops_warnings(False)
        self.uncalled_modules_warnings(False)


def condconv_layer_madds(layer: CondConv2d, input_shape: Sequence[int], with_routing: Optional[bool] = None) -> int:
    """Closed-form per-example MADDs of one CondConv2d on a ``(C, H, W)`` input: conv + ``E·P`` mixing (+ routing).

    ``with_routing`` defaults to whether the layer owns a routing function. Used to cross-check the traced count.
    """
    _, height, width = input_shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = layer.kernel_size, layer.stride, layer.padding, layer.dilation
    out_h = (height + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    out_w = (width + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    per_expert = layer.weight[0].numel()
    conv = per_expert * out_h * out_w
    mixing = layer.num_experts * (per_expert + (layer.out_channels if layer.bias is not None else 0))
    if with_routing is None:
        with_routing = layer.routing is not None
    routing = 0
    if with_routing:
        routing = layer.in_channels * height * width + layer.in_channels * layer.num_experts
    return conv + mixing + routing


@torch.no_grad()
def get_madds(model: nn.Module,
              input_shape: Sequence[int] = (3, 224, 224),
              batch_size: int = 1,
              count_bn: bool = False,
              inputs: Optional[Union[Tensor, Tuple[Tensor, ...]]] = None) -> Dict[str, Any]:
    """Per-example MADDs and parameters of ``model`` (put in eval mode for the trace, then restored).

    Returns ``dict(madds, params, by_operator, analyzer)``; ``madds``/``by_operator`` are per example.
    """
    was_training = model.training
    model.eval()
    if inputs is None:
        param = next(model.parameters())
        inputs = (torch.randn(batch_size, *input_shape, dtype=param.dtype, device=param.device), )
    else:
        batch_size = (inputs[0] if isinstance(inputs, tuple) else inputs).shape[0]
    analyzer = CondConvFlopAnalyzer(model, inputs, count_bn=count_bn)
    try:
        total = analyzer.total()
        by_operator = {k: v / batch_size for k, v in analyzer.by_operator().items()}
    finally:
        model.train(was_training)
    return dict(
        madds=total / batch_size,
        params=parameter_count(model)[''],
        by_operator=by_operator,
        analyzer=analyzer)


def get_model_complexity_info(model: nn.Module,
                              input_shape: Sequence[int] = (3, 224, 224),
                              count_bn: bool = False,
                              show_table: bool = True,
                              max_depth: int = 3) -> Dict[str, Any]:
    """mmengine's ``get_model_complexity_info`` with the CondConv-aware analyzer (batch 1).

    Returns ``flops`` (= MADDs), ``flops_str``, ``params``, ``params_str`` and ``out_table`` (mmengine's table).
    """
    result = get_madds(model, input_shape, batch_size=1, count_bn=count_bn)
    table = ''
    if show_table:
        param = next(model.parameters())
        inputs = (torch.randn(1, *input_shape, dtype=param.dtype, device=param.device), )
        model.eval()
        table = '\n' + complexity_stats_table(
            flops=result['analyzer'], activations=ActivationAnalyzer(model, inputs), max_depth=max_depth,
            show_param_shapes=False)
    return dict(
        flops=result['madds'],
        flops_str=_format_size(int(result['madds'])),
        params=result['params'],
        params_str=_format_size(result['params']),
        out_table=table)

