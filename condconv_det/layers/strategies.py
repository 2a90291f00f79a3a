"""Exact execution strategies of a CondConv layer (Yang et al., NeurIPS 2019, eq. (1)).

Every strategy computes, for each example ``b``, ``y_b = conv(x_b, sum_i r_{b,i} W_i) + sum_i r_{b,i} bias_i`` and
differs only in how the batch of per-example convolutions is run. All are exact (same maths, float64 tests agree
with a per-example loop to 1e-10, outputs and gradients). The choice between them is made in ``strategy_dispatch``.

Signature of every strategy: ``(x, routing_weights, weight, bias, geometry) -> y`` with ``x (B, C, H, W)``,
``routing_weights (B, E)``, ``weight (E, out, C // groups, kh, kw)`` (expert-major), ``bias (E, out)`` or ``None``.
``geometry.padding`` is zero padding; other padding modes are applied by the caller with ``F.pad`` beforehand.
"""
from typing import Callable, Dict, NamedTuple, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import Tensor

from .kernel_mixing import kernels_fit_workspace, mix_expert_biases, mix_expert_kernels, mixed_kernels_nbytes
from .per_example_matmul_function import PerExampleMatmulFunction, apply_kernel_matrices
from .workspace import workspaces_usable

# Workspace slot of the mixed kernels of the no_grad strategies (see ``workspace``); ``None`` = fresh tensor.
_KERNELS_SLOT = 'strategies.kernels'


def _mixed_kernels(x: Tensor, routing_weights: Tensor, weight: Tensor) -> Tensor:
    slot = _KERNELS_SLOT if kernels_fit_workspace(x, routing_weights, weight) else None
    return mix_expert_kernels(routing_weights, weight, slot)


def _per_example_matmul(x_mat: Tensor, routing_weights: Tensor, weight: Tensor, bias: Optional[Tensor], groups: int,
                        rows_layout: bool) -> Tensor:
    """``K_b @ x_b + bias_b`` for ``x_mat`` = ``cols (B*g, K, L)`` or ``rows (B, L, K)`` (see
    ``PerExampleMatmulFunction``): plain ops with the kernels in the reused buffer when autograd records nothing, the
    fused memory-lean function when it does (CPU eager, kernels of 32 MiB or more), plain autograd-recorded ops
    otherwise."""
    slot = None
    if kernels_fit_workspace(x_mat, routing_weights, weight):
        slot = _KERNELS_SLOT
    elif workspaces_usable(x_mat.device, mixed_kernels_nbytes(routing_weights, weight)) and weight.is_contiguous():
        return PerExampleMatmulFunction.apply(x_mat, routing_weights, weight, bias, groups, rows_layout)
    batch, out_channels = routing_weights.shape[0], weight.shape[1]
    kernels = mix_expert_kernels(routing_weights, weight, slot).reshape(batch * groups, out_channels // groups, -1)
    return apply_kernel_matrices(x_mat, kernels, mix_expert_biases(routing_weights, bias), rows_layout)


class ConvGeometry(NamedTuple):
    """The convolution hyper-parameters a strategy needs, in ``F.conv2d`` order."""
    stride: Tuple[int, int]
    padding: Tuple[int, int]
    dilation: Tuple[int, int]
    groups: int


def conv_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """Output length of a convolution along one spatial axis."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def _is_channels_last(x: Tensor) -> bool:
    """True when ``x`` is stored NHWC (and that is not also plain NCHW, as for 1x1 spatial size)."""
    return x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


def conv_mixed_single(x: Tensor, routing_weights: Tensor, weight: Tensor, bias: Optional[Tensor],
                      geometry: ConvGeometry) -> Tensor:
    """(a) Batch of one: mix the kernel once (eq. 1), then one ordinary convolution."""
    kernel = _mixed_kernels(x, routing_weights, weight)[0]
    biases = mix_expert_biases(routing_weights, bias)
    return F.conv2d(x, kernel, None if biases is None else biases[0], geometry.stride, geometry.padding,
                    geometry.dilation, geometry.groups)


def conv_bmm_1x1(x: Tensor, routing_weights: Tensor, weight: Tensor, bias: Optional[Tensor],
                 geometry: ConvGeometry) -> Tensor:
    """(b) 1x1 kernels: per-example ``(out, in)`` matrices and one batched matrix product.

    Stride is a spatial slice, padding an explicit ``F.pad`` (1x1 sees zeros: the output there is the bias).
    Groups become extra batch entries (``B * groups`` small products) for NCHW input. A channels_last input with
    ``groups == 1`` is multiplied as ``(B, HW, C) @ (B, C, out)`` without any copy and gives a channels_last output.
    On CPU in eager mode, for large kernels, the memory-lean ``PerExampleMatmulFunction`` runs it (same arithmetic).
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
    rows_layout = groups == 1 and _is_channels_last(x)
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
    """(c)/(d) One grouped convolution: the batch is folded into channels, ``groups = groups * B``.

    ``x (B, C, H, W)`` is viewed as ``(1, B*C, H, W)`` (free for NCHW-contiguous input) and the mixed kernels as
    ``(B*out, C/groups, kh, kw)``. For depthwise layers this is a depthwise convolution over ``B*C`` channels.
    """
    batch, channels, height, width = x.shape
    _, out_channels, in_per_group, kernel_h, kernel_w = weight.shape
    kernels = _mixed_kernels(x, routing_weights, weight).view(batch * out_channels, in_per_group, kernel_h, kernel_w)
    biases = mix_expert_biases(routing_weights, bias)
    # Batch of one: keep x as is. reshape() would return a view with an odd batch stride for channels_last x, and
    # torch 2.13's float64 CPU conv backward then returns a wrong weight gradient for channels_last kernels.
    folded = x if batch == 1 else x.reshape(1, batch * channels, height, width)
    y = F.conv2d(
        folded, kernels, None if biases is None else biases.view(-1),
        geometry.stride, geometry.padding, geometry.dilation, geometry.groups * batch)
    return y.view(batch, out_channels, y.shape[2], y.shape[3])


def conv_depthwise_nhwc(x: Tensor, routing_weights: Tensor, weight: Tensor, bias: Optional[Tensor],
                        geometry: ConvGeometry) -> Tensor:
    """(d) Depthwise (``groups == in_channels``, any channel multiplier): one depthwise convolution over ``B*C``
    channels, run channels_last whatever the input layout.

    The batch is folded into channels as ``(H, W, B*C)`` memory, i.e. a channels_last ``(1, B*C, H, W)`` tensor, for
    which oneDNN's depthwise kernels were 2-3x faster than for the NCHW fold of ``grouped`` (CPU, forward+backward);
    the fold and the unfold of the output are one copy each. The output has the input's memory format.
    """
    batch, channels, height, width = x.shape
    _, out_channels, _, kernel_h, kernel_w = weight.shape
    folded = x.permute(2, 3, 0, 1).reshape(height, width, batch * channels).permute(2, 0, 1).unsqueeze(0)
    kernels = _mixed_kernels(x, routing_weights, weight).reshape(batch * out_channels, 1, kernel_h, kernel_w)
    biases = mix_expert_biases(routing_weights, bias)
    y = F.conv2d(folded, kernels, None if biases is None else biases.view(-1), geometry.stride, geometry.padding,
                 geometry.dilation, batch * channels)
    out_h, out_w = y.shape[2], y.shape[3]
    y = y[0].permute(1, 2, 0).reshape(out_h, out_w, batch, out_channels).permute(2, 3, 0, 1)
    memory_format = torch.channels_last if _is_channels_last(x) else torch.contiguous_format
    return y.contiguous(memory_format=memory_format)


def conv_unfold_bmm(x: Tensor, routing_weights: Tensor, weight: Tensor, bias: Optional[Tensor],
                    geometry: ConvGeometry) -> Tensor:
    """im2col (``F.unfold``) then one batched matrix product with the per-example kernels; any kernel and groups.

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


def conv_per_example(x: Tensor, routing_weights: Tensor, weight: Tensor, bias: Optional[Tensor],
                     geometry: ConvGeometry) -> Tensor:
    """A Python loop of ordinary convolutions, one per example (the official TF code's approach)."""
    kernels = _mixed_kernels(x, routing_weights, weight)
    biases = mix_expert_biases(routing_weights, bias)
    outputs = [
        F.conv2d(x[index:index + 1], kernels[index], None if biases is None else biases[index], geometry.stride,
                 geometry.padding, geometry.dilation, geometry.groups) for index in range(x.shape[0])
    ]
    return torch.cat(outputs, dim=0)


def conv_expert_outputs(x: Tensor, routing_weights: Tensor, weight: Tensor, bias: Optional[Tensor],
                        geometry: ConvGeometry) -> Tensor:
    """Reference: convolve with all ``E`` experts (one static conv of ``E*out`` channels), mix the outputs.

    ``E`` times the MADDs of the other strategies (the "mixture of experts" view of eq. (1)); kept for benchmarks
    and because it is made only of static ops (exports with a dynamic batch).
    """
    batch = x.shape[0]
    num_experts, out_channels, in_per_group, kernel_h, kernel_w = weight.shape
    groups = geometry.groups
    out_per_group = out_channels // groups
    # Output channels must stay group-major for a grouped conv: (g, E, out/g) ordering.
    stacked = weight.reshape(num_experts, groups, out_per_group, in_per_group, kernel_h, kernel_w).transpose(0, 1)
    stacked = stacked.reshape(groups * num_experts * out_per_group, in_per_group, kernel_h, kernel_w)
    y = F.conv2d(x, stacked, None, geometry.stride, geometry.padding, geometry.dilation, groups)
    out_h, out_w = y.shape[2], y.shape[3]
    y = y.view(batch, groups, num_experts, out_per_group, out_h, out_w)
    y = torch.einsum('bgeohw,be->bgohw', y, routing_weights).reshape(batch, out_channels, out_h, out_w)
    biases = mix_expert_biases(routing_weights, bias)
    if biases is not None:
        y = y + biases.view(batch, out_channels, 1, 1)
    return y


StrategyFn = Callable[[Tensor, Tensor, Tensor, Optional[Tensor], ConvGeometry], Tensor]

STRATEGIES: Dict[str, StrategyFn] = {
    'mixed_single': conv_mixed_single,
    'bmm_1x1': conv_bmm_1x1,
    'grouped': conv_grouped,
    'depthwise_nhwc': conv_depthwise_nhwc,
    'unfold_bmm': conv_unfold_bmm,
    'per_example': conv_per_example,
    'expert_outputs': conv_expert_outputs,
}


def check_strategy_applicable(strategy: str, batch: int, kernel_size: Tuple[int, int], groups: int = 1,
                              in_channels: int = 1) -> None:
    """Raise ``ValueError`` when ``strategy`` is unknown or cannot run this shape (used for forced strategies)."""
    if strategy not in STRATEGIES:
        raise ValueError(f"strategy must be 'auto' or one of {sorted(STRATEGIES)}, got strategy={strategy!r}")
    if strategy == 'mixed_single' and batch != 1:
        raise ValueError(f"strategy='mixed_single' needs a batch of 1, got a batch of {batch}")
    if strategy == 'bmm_1x1' and tuple(kernel_size) != (1, 1):
        raise ValueError(f"strategy='bmm_1x1' needs a 1x1 kernel, got kernel_size={tuple(kernel_size)}")
    if strategy == 'depthwise_nhwc' and groups != in_channels:
        raise ValueError(f"strategy='depthwise_nhwc' needs a depthwise conv (groups == in_channels), got "
                         f'groups={groups}, in_channels={in_channels}')
