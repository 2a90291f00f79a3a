"""``strategy='auto'``: the exact CondConv strategy (``strategies.py``) to run for a call, chosen by kernel size,
groups, batch, spatial size, device and grad mode (Yang et al., NeurIPS 2019: the extra cost should be only the
routing and the kernel mixing, eq. (1)).

Measurements behind the CPU rule: ``tools/analysis/benchmark_condconv.py --threads 2 --experts 8 --batch 1 8
--extra-strategies ...`` on the 2-core AMD EPYC (AVX2) dev VM, torch 2.13, medians of 9 interleaved runs, ms, fwd =
no_grad forward, f+b = forward+backward; the VM was shared with a compiler and other jobs, so single figures carry
~10-30 % noise and only consistent orderings were used:

* 1x1 kernels -> ``bmm_1x1`` (mixed ``(out, in)`` matrices, one batched GEMM, fused memory-lean backward), any batch:
  batch 8, fwd / f+b: 160->960 @10 bmm 3.8 / 11.7 vs grouped 7.1 / 18.5; 320->1280 @10 9.5 / 31.6 vs 17.1 / 46.4;
  96->576 @20 4.1 / 12.3 vs 7.2 / 19.4; 512->512 @20 14.5 / 48.0 vs 26.7 / 69.0; 1024->1024 @10 54 / 306 vs
  131 / 570. Batch 1, fwd: bmm 0.94 / 2.42 / 0.66 / 2.77 / 4.9 vs mixed_single 0.92 / 2.43 / 0.77 / 3.02 / 4.99
  (for 1x1 at batch 1 PyTorch's conv takes the im2col ``Slow2d`` path; a plain GEMM skips that copy).
* depthwise (``groups == in_channels``) -> ``grouped`` (one depthwise conv over ``B*C`` channels, NCHW fold is free);
  batch 1 -> ``mixed_single``. Mixing is negligible (``C*kh*kw`` per expert); ``depthwise_nhwc`` (channels_last
  fold) was not faster end to end (960 @10 f+b 6.3 vs 6.2; 512 @20 12.5 vs 11.1), ``unfold_bmm`` 6-10x slower.
* dense kxk -> ``unfold_bmm`` (fused) while its im2col columns stay small (<= 2**24 elements): 3x3 512->512 @7:
  batch 8 fwd 148 vs grouped 395 vs per_example 288; f+b 1468 vs 1860 vs 4216; batch 1 fwd 24 vs mixed_single 40.
  oneDNN re-lays out the whole ``B*out x in x kh x kw`` mixed weight on every grouped call; the GEMM reads it as is.
  Larger columns (detection necks/heads at high resolution) -> ``grouped``: im2col would cost ``kh*kw`` times the
  input in memory, saved for backward (this threshold is reasoned, not measured).
* grouped convs with few channels per group (``in/groups < 16``, e.g. ResNeXt) -> ``grouped`` (unmeasured; many tiny
  GEMMs would follow from ``unfold_bmm``).
The grad mode did not change any CPU ordering above, so the CPU rule ignores it.

CUDA: NOT MEASURED (no GPU was lent while this was written). Reasoned defaults: batch 1 -> ``mixed_single`` (one
cuDNN conv); 1x1 -> ``bmm_1x1`` (cuBLAS strided-batched GEMM, no im2col); everything else -> ``grouped`` (cuDNN
grouped / depthwise conv with ``groups = g*B``, the usual trick). CUDA runs the plain autograd ops (its caching
allocator already avoids the allocation cost that the CPU workspaces remove).

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
