"""``strategy='auto'``: the exact CondConv strategy (``strategies.py``) to run for a call (Yang et al., NeurIPS 2019:
the extra cost should be only the routing and the kernel mixing, eq. (1)).

* Tracing / exporting: ``bmm_1x1`` for 1x1 kernels, else ``unfold_bmm``; both keep the batch symbolic (``grouped``
  would bake ``groups = g*B`` into the graph, ``mixed_single`` assumes one example).
* CPU: 1x1 -> ``bmm_1x1``; depthwise and thin groups (``in/groups < 16``) -> ``grouped`` (``mixed_single`` at batch
  1); dense kxk -> ``unfold_bmm`` while its im2col columns stay <= 2**24 elements, else as depthwise.
* CUDA and others (not measured, no GPU was lent): batch 1 -> ``mixed_single``, 1x1 -> ``bmm_1x1``, else ``grouped``.

The measurements behind the CPU rule: docs/performance.md, "Why strategy='auto' picks what it picks".
"""
from typing import Tuple

# im2col size (elements) up to which dense kxk convs use unfold_bmm on CPU (64 MB of float32 columns).
UNFOLD_MAX_COLUMN_ELEMENTS = 2**24
# Fewer input channels per group than this: treat like depthwise (grouped conv), not as dense GEMMs.
MIN_CHANNELS_PER_GROUP_FOR_GEMM = 16


def select_strategy(batch: int, kernel_size: Tuple[int, int], groups: int, in_channels: int, out_channels: int,
                    device_type: str, grad_enabled: bool, exporting: bool = False, output_size: int = 0) -> str:
    """Name of the strategy ``strategy='auto'`` runs; ``output_size`` is ``H_out * W_out`` (0: unknown). The grad
    mode changed no measured CPU ordering, so ``grad_enabled`` does not enter the rule."""
    one_by_one = tuple(kernel_size) == (1, 1)
    if exporting:
        return 'bmm_1x1' if one_by_one else 'unfold_bmm'
    if device_type != 'cpu':
        if batch == 1:
            return 'mixed_single'
        return 'bmm_1x1' if one_by_one else 'grouped'
    if one_by_one:
        return 'bmm_1x1'
    if in_channels // groups < MIN_CHANNELS_PER_GROUP_FOR_GEMM:
        return 'mixed_single' if batch == 1 else 'grouped'
    columns = batch * in_channels * kernel_size[0] * kernel_size[1] * output_size
    if columns <= UNFOLD_MAX_COLUMN_ELEMENTS:
        return 'unfold_bmm'
    return 'mixed_single' if batch == 1 else 'grouped'
