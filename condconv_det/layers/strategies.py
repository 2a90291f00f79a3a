"""Exact execution strategies of a CondConv layer, the ones ``strategy='auto'`` picks (Yang et al., NeurIPS 2019,
eq. (1)).

Every strategy computes, for each example ``b``, ``y_b = conv(x_b, sum_i r_{b,i} W_i) + sum_i r_{b,i} bias_i`` and
differs only in how the batch of per-example convolutions is run. All are exact (same maths, float64 tests agree
with a per-example loop to 1e-10, outputs and gradients). The choice between them is made in ``strategy_dispatch``;
the alternatives they were measured against are comparison points of ``tools/analysis/benchmark_condconv.py``.

Signature of every strategy: ``(x, routing_weights, weight, bias, geometry) -> y`` with ``x (B, C, H, W)``,
``routing_weights (B, E)``, ``weight (E, out, C // groups, kh, kw)`` (expert-major), ``bias (E, out)`` or ``None``.
``geometry.padding`` is zero padding; other padding modes are applied by the caller with ``F.pad`` beforehand.
"""
from typing import Callable, Dict, NamedTuple, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .kernel_mixing import mix_expert_biases, mix_expert_kernels


class ConvGeometry(NamedTuple):
    """The convolution hyper-parameters a strategy needs, in ``F.conv2d`` order."""
    stride: Tuple[int, int]
    padding: Tuple[int, int]
    dilation: Tuple[int, int]
    groups: int


def conv_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """Output length of a convolution along one spatial axis."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _per_example_matmul(x_mat: Tensor, routing_weights: Tensor, weight: Tensor, bias: Optional[Tensor], groups: int,
                        rows_layout: bool) -> Tensor:
    """``K_b x_b + bias_b`` per (example, group) with the mixed kernels as matrices ``K (B*g, out/g, K)``; ``x_mat``
    as ``cols (B*g, K, L)`` gives ``(B*g, out/g, L)``, as ``rows (B, L, K)`` (``rows_layout``, ``g == 1``)
    ``(B, L, out)``."""
    batch, out_channels = routing_weights.shape[0], weight.shape[1]
    kernels = mix_expert_kernels(routing_weights, weight).view(batch * groups, out_channels // groups, -1)
    biases = mix_expert_biases(routing_weights, bias)
    if rows_layout:
        if biases is None:
            return torch.bmm(x_mat, kernels.transpose(1, 2))
        return torch.baddbmm(biases.unsqueeze(1), x_mat, kernels.transpose(1, 2))
    if biases is None:
        return torch.bmm(kernels, x_mat)
    return torch.baddbmm(biases.view(kernels.shape[0], kernels.shape[1], 1), kernels, x_mat)


def conv_mixed_single(x: Tensor, routing_weights: Tensor, weight: Tensor, bias: Optional[Tensor],
                      geometry: ConvGeometry) -> Tensor:
    """(a) Batch of one: mix the kernel once (eq. 1), then one ordinary convolution."""
    kernel = mix_expert_kernels(routing_weights, weight)[0]
    biases = mix_expert_biases(routing_weights, bias)
    return F.conv2d(x, kernel, None if biases is None else biases[0], geometry.stride, geometry.padding,
                    geometry.dilation, geometry.groups)


def conv_bmm_1x1(x: Tensor, routing_weights: Tensor, weight: Tensor, bias: Optional[Tensor],
                 geometry: ConvGeometry) -> Tensor:
    """(b) 1x1 kernels: per-example ``(out, in)`` matrices and one batched matrix product.

    Stride is a spatial slice, padding an explicit ``F.pad`` (1x1 sees zeros: the output there is the bias).
    Groups become extra batch entries (``B * groups`` small products) for NCHW input. A channels_last input with
    ``groups == 1`` is multiplied as ``(B, HW, C) @ (B, C, out)`` without any copy and gives a channels_last output.
    """
    pad_h, pad_w = geometry.padding
    if pad_h or pad_w:
        x = F.pad(x, (pad_w, pad_w, pad_h, pad_h))
    stride_h, stride_w = geometry.stride
    if stride_h != 1 or stride_w != 1:
        x = x[:, :, ::stride_h, ::stride_w]
    batch, channels, height, width = x.shape
    out_channels = weight.shape[1]
    groups = geometry.groups
    # NHWC storage that is not also plain NCHW (as it is for a 1x1 spatial size)
    rows_layout = groups == 1 and x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
    if rows_layout:
        x_mat = x.permute(0, 2, 3, 1).reshape(batch, height * width, channels)
    else:
        x_mat = x.reshape(batch * groups, channels // groups, height * width)
    y = _per_example_matmul(x_mat, routing_weights, weight, bias, groups, rows_layout)
    if rows_layout:
        return y.view(batch, height, width, out_channels).permute(0, 3, 1, 2)
    return y.view(batch, out_channels, height, width)


def conv_grouped(x: Tensor, routing_weights: Tensor, weight: Tensor, bias: Optional[Tensor],
                 geometry: ConvGeometry) -> Tensor:
    """(c) One grouped convolution: the batch is folded into channels, ``groups = groups * B``.

    ``x (B, C, H, W)`` is viewed as ``(1, B*C, H, W)`` (free for NCHW-contiguous input) and the mixed kernels as
    ``(B*out, C/groups, kh, kw)``. For depthwise layers this is a depthwise convolution over ``B*C`` channels.
    """
    batch, channels, height, width = x.shape
    _, out_channels, in_per_group, kernel_h, kernel_w = weight.shape
    kernels = mix_expert_kernels(routing_weights, weight).view(batch * out_channels, in_per_group, kernel_h, kernel_w)
    biases = mix_expert_biases(routing_weights, bias)
    # Batch of one: keep x as is. reshape() would return a view with an odd batch stride for channels_last x, and
    # torch 2.13's float64 CPU conv backward then returns a wrong weight gradient for channels_last kernels.
    folded = x if batch == 1 else x.reshape(1, batch * channels, height, width)
    y = F.conv2d(
        folded, kernels, None if biases is None else biases.view(-1),
        geometry.stride, geometry.padding, geometry.dilation, geometry.groups * batch)
    return y.view(batch, out_channels, y.shape[2], y.shape[3])


def conv_unfold_bmm(x: Tensor, routing_weights: Tensor, weight: Tensor, bias: Optional[Tensor],
                    geometry: ConvGeometry) -> Tensor:
    """(d) im2col (``F.unfold``) then one batched matrix product with the per-example kernels; any kernel and groups.

    Exports to ONNX with a dynamic batch (no batch-dependent ``group`` attribute), at the cost of the im2col copy.
    """
    batch, channels, height, width = x.shape
    _, out_channels, in_per_group, kernel_h, kernel_w = weight.shape
    groups = geometry.groups
    out_h = conv_output_size(height, kernel_h, geometry.stride[0], geometry.padding[0], geometry.dilation[0])
    out_w = conv_output_size(width, kernel_w, geometry.stride[1], geometry.padding[1], geometry.dilation[1])
    cols = F.unfold(x, (kernel_h, kernel_w), geometry.dilation, geometry.padding, geometry.stride)
    cols = cols.view(batch * groups, in_per_group * kernel_h * kernel_w, out_h * out_w)
    y = _per_example_matmul(cols, routing_weights, weight, bias, groups, False)
    return y.view(batch, out_channels, out_h, out_w)


StrategyFn = Callable[[Tensor, Tensor, Tensor, Optional[Tensor], ConvGeometry], Tensor]

STRATEGIES: Dict[str, StrategyFn] = {
    'mixed_single': conv_mixed_single,
    'bmm_1x1': conv_bmm_1x1,
    'grouped': conv_grouped,
    'unfold_bmm': conv_unfold_bmm,
}


def check_strategy_applicable(strategy: str, batch: int, kernel_size: Tuple[int, int]) -> None:
    """Raise ``ValueError`` when ``strategy`` is unknown or cannot run this shape (used for forced strategies)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be 'auto' or one of {sorted(STRATEGIES)}, got strategy={strategy!r}")
    if strategy == 'mixed_single' and batch != 1:
        raise ValueError(f"strategy='mixed_single' needs a batch of 1, got a batch of {batch}")
    if strategy == 'bmm_1x1' and tuple(kernel_size) != (1, 1):
        raise ValueError(f"strategy='bmm_1x1' needs a 1x1 kernel, got kernel_size={tuple(kernel_size)}")
