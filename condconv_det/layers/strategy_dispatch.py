"""``strategy='auto'``: the exact CondConv strategy (``strategies.py``) to run for a call, chosen by kernel size,
groups, batch, spatial size, device and grad mode (Yang et al., NeurIPS 2019: the extra cost should be only the
routing and the kernel mixing, eq. (1)).

Measurements behind the CPU rule (2-core AMD EPYC AVX2 VM, torch 2.13, E = 8, ms, fwd = no_grad forward, f+b =
forward+backward). The VM was shared with a compiler and three training jobs (load 8-10), which made wall-clock
numbers swing 10x; the figures below are process CPU time with 1 thread (``benchmark_condconv.py --threads 1 --timer
process --extra-strategies depthwise_nhwc unfold_bmm per_example``, medians of 7 interleaved runs):

* 1x1 kernels -> ``bmm_1x1`` (mixed ``(out, in)`` matrices, one batched GEMM), any batch. Batch 8 f+b, bmm vs the
  grouped trick: 160->960 @10 20.9 vs 23.7; 320->1280 @10 48.9 vs 47.8; 96->576 @20 19.2 vs 20.7; 512->512 @20 85.6
  vs 84.6; 1024->1024 @10 150 vs 204. Batch 1 fwd: 1.33 / 3.33 / 1.00 / 3.80 / 6.61 vs mixed_single-like
  conv 1.18 / 3.48 / 0.99 / 3.72 / 6.79 (a tie; the GEMM skips the im2col copy of PyTorch's 1x1 ``Slow2d`` conv).
* depthwise (``groups == in_channels``) -> ``grouped`` (one depthwise conv over ``B*C`` channels; the NCHW fold is
  free), batch 1 -> ``mixed_single``. Mixing is negligible (``C*kh*kw`` per expert). Batch 8 f+b: grouped 10.1 /
  19.6 / 14.9 vs ``depthwise_nhwc`` (channels_last fold) 8.7 / 23.0 / 16.9 (not better overall) vs ``unfold_bmm``
  69 / 239 / 173 vs ``per_example`` 19 / 37 / 30 (960 @10, 576 @20, 512 @20).
* dense kxk -> ``unfold_bmm`` while its im2col columns stay small (<= 2**24 elements): 3x3 512->512 @7, batch 8 fwd
  64 vs grouped 195 vs per_example 68; batch 1 fwd 11.6 vs 12.2 (tie). oneDNN re-lays out the whole
  ``B*out x in x kh x kw`` mixed weight on every grouped call; the GEMM reads it as is. Larger columns (detection
  necks/heads at high resolution) -> ``grouped``: im2col would cost ``kh*kw`` times the input in memory, saved for
  backward (this threshold is reasoned, not measured).
* grouped convs with few channels per group (``in/groups < 16``, e.g. ResNeXt) -> as depthwise (unmeasured; many
  tiny GEMMs would follow from ``unfold_bmm``).
The grad mode did not change any CPU ordering above, so the CPU rule ignores it. (These figures were taken with the
CPU workspaces of that time, removed since: docs/performance.md.) ``depthwise_nhwc`` and ``per_example`` are now
comparison points of ``benchmark_condconv.py``, not strategies.

CUDA: NOT MEASURED (no GPU was lent while this was written). Reasoned defaults: batch 1 -> ``mixed_single`` (one
cuDNN conv); 1x1 -> ``bmm_1x1`` (cuBLAS strided-batched GEMM, no im2col); everything else -> ``grouped`` (cuDNN
grouped / depthwise conv with ``groups = g*B``, the usual trick).

While tracing / exporting the batch must stay symbolic: ``bmm_1x1`` for 1x1, else ``unfold_bmm`` (both export to
ONNX with a dynamic batch); ``grouped`` would bake ``groups = g*B`` into the graph.
"""
from typing import Tuple

# im2col size (elements) up to which dense kxk convs use unfold_bmm on CPU (64 MB of float32 columns).
UNFOLD_MAX_COLUMN_ELEMENTS = 2**24
# Fewer input channels per group than this: treat like depthwise (grouped conv), not as dense GEMMs.
MIN_CHANNELS_PER_GROUP_FOR_GEMM = 16


def select_strategy(batch: int, kernel_size: Tuple[int, int], groups: int, in_channels: int, out_channels: int,
                    device_type: str, grad_enabled: bool, exporting: bool = False, output_size: int = 0) -> str:
    """Name of the strategy ``strategy='auto'`` runs; ``output_size`` is ``H_out * W_out`` (0: unknown)."""
    one_by_one = tuple(kernel_size) == (1, 1)
    if exporting:
        return 'bmm_1x1' if one_by_one else 'unfold_bmm'
    if device_type != 'cpu':  # CUDA and others: unmeasured defaults, see the module docstring
        if batch == 1:
            return 'mixed_single'
        return 'bmm_1x1' if one_by_one else 'grouped'
    if one_by_one:
        return 'bmm_1x1'
    if in_channels // groups < MIN_CHANNELS_PER_GROUP_FOR_GEMM:  # depthwise and thin groups
        return 'mixed_single' if batch == 1 else 'grouped'
    columns = batch * in_channels * kernel_size[0] * kernel_size[1] * output_size
    if columns <= UNFOLD_MAX_COLUMN_ELEMENTS:
        return 'unfold_bmm'
    return 'mixed_single' if batch == 1 else 'grouped'
