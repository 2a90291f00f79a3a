"""Reusable CPU buffers for CondConv's per-example kernels ``W_b = sum_i r_{b,i} W_i`` (eq. (1), Yang et al., 2019).

A batch of mixed kernels is ``B`` times a static conv's weight (8 x 4 MB for a 1024->1024 1x1 conv at batch 8). glibc
serves allocations that large with fresh ``mmap`` pages, so every forward paid the page faults of a new buffer: on
the 2-core dev VM a fresh 75 MB buffer cost ~60 ms to touch against ~17 ms for the mixing GEMM itself. Kernels that no
autograd graph keeps (no_grad forwards, and the fused 1x1 function, which recomputes them in backward) are written
into a buffer kept per thread, device, dtype and slot instead. CUDA has a caching allocator, so this is CPU only.

Not used while tracing, exporting or compiling (graphs must not capture a mutable global) or under autocast.
"""
import contextlib
import threading
from typing import Dict, Iterator, Sequence, Tuple

import torch
from torch import Tensor

_state = threading.local()


def _buffers() -> Dict[Tuple[str, torch.device, torch.dtype], Tensor]:
    if not hasattr(_state, 'buffers'):
        _state.buffers = {}
        _state.enabled = True
    return _state.buffers


def _is_capturing() -> bool:
    return (torch.jit.is_tracing() or torch.jit.is_scripting() or torch.onnx.is_in_onnx_export()
            or torch.compiler.is_compiling())


def workspaces_usable(device: torch.device) -> bool:
    """True when kernels on ``device`` may go to a reused buffer (CPU, eager, no autocast, not disabled)."""
    _buffers()
    return (_state.enabled and device.type == 'cpu' and not _is_capturing()
            and not torch.is_autocast_enabled(device.type))


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
