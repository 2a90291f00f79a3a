"""Reusable CPU buffers for CondConv's per-example kernels ``W_b = sum_i r_{b,i} W_i`` (eq. (1), Yang et al., 2019).

A batch of mixed kernels is ``B`` times a static conv's weight (8 x 4 MB for a 1024->1024 1x1 conv at batch 8). glibc
serves allocations above 32 MiB (its largest mmap threshold on 64-bit) with fresh ``mmap`` pages, so every call
paid the page faults of a new buffer; smaller blocks are recycled from the heap and cost nothing to reuse. Kernels
of at least ``WORKSPACE_MIN_BYTES`` that no autograd graph keeps (no_grad forwards, and the fused per-example matmul,
which recomputes them in backward) therefore go into a buffer kept per thread, device, dtype and slot.
Measured with process CPU time, 1 thread (robust to the other jobs on the shared 2-core VM), E = 8, ms:
1024->1024 @10, B=8 (kernels 33.5 MB): fused f+b 141 vs plain 175, no_grad fwd 38.7 vs 60.5; below the threshold the
plain ops were as fast or faster (320->1280 @10, B=8, 13 MB: f+b 45.8 vs 42.5, fwd 15.6 vs 14.8; at B=1 the
recompute of the fused backward cost 5-20 %). CUDA has a caching allocator, so this is CPU only.

Not used while tracing, exporting or compiling (graphs must not capture a mutable global) or under autocast.
"""
import contextlib
import threading
from typing import Dict, Iterator, Sequence, Tuple

import torch
from torch import Tensor

_state = threading.local()

# Smallest mixed-kernel tensor (bytes) worth a reused buffer; module-level so tests can lower it to 0.
WORKSPACE_MIN_BYTES = 32 * 2**20


def _buffers() -> Dict[Tuple[str, torch.device, torch.dtype], Tensor]:
    if not hasattr(_state, 'buffers'):
        _state.buffers = {}
        _state.enabled = True
    return _state.buffers


def _is_capturing() -> bool:
    return (torch.jit.is_tracing() or torch.jit.is_scripting() or torch.onnx.is_in_onnx_export()
            or torch.compiler.is_compiling())


def workspaces_usable(device: torch.device, nbytes: int) -> bool:
    """True when ``nbytes`` of kernels on ``device`` should go to a reused buffer (CPU, eager, no autocast, large
    enough, not disabled). The size is compared last: under ``torch.export`` with a dynamic batch ``nbytes`` is
    symbolic, and comparing it would add a guard on the batch that the exporter cannot express."""
    _buffers()
    return (_state.enabled and device.type == 'cpu' and not _is_capturing()
            and not torch.is_autocast_enabled(device.type) and nbytes >= WORKSPACE_MIN_BYTES)


def borrow_workspace(slot: str, shape: Sequence[int], dtype: torch.dtype, device: torch.device) -> Tensor:
    """A contiguous tensor of ``shape`` backed by this thread's buffer ``slot`` (grown on demand, never zeroed).

    Valid until the next ``borrow_workspace`` of the same slot on this thread: the caller must be done with it
    before returning (nothing returned to the user or saved for backward may alias it).
    """
    buffers = _buffers()
    numel = 1
    for size in shape:
        numel *= int(size)
    key = (slot, torch.device(device), dtype)
    buffer = buffers.get(key)
    if buffer is None or buffer.numel() < numel:
        with torch.inference_mode(False):  # a normal tensor: writable in and out of inference mode
            buffer = torch.empty(numel, dtype=dtype, device=device)
        buffers[key] = buffer
    return buffer[:numel].view(tuple(shape))


def release_workspaces() -> None:
    """Free this thread's buffers (e.g. after inference with a large batch)."""
    _buffers().clear()


@contextlib.contextmanager
def workspaces_disabled() -> Iterator[None]:
    """Run CondConv with plain autograd-recorded ops only (tests use it to check both paths)."""
    _buffers()
    previous = _state.enabled
    _state.enabled = False
    try:
        yield
    finally:
        _state.enabled = previous
