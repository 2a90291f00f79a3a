"""glibc ``malloc`` settings for CondConv training and inference on CPU.

glibc serves each allocation above its mmap threshold (dynamic, at most 32 MiB on 64-bit) with fresh ``mmap`` pages
and returns them on ``free``; every reuse then pays one page fault per 4 KiB. CondConv's tensors are ``E`` times a
static layer's (the experts' gradient ``(E, out, in, kh, kw)``, ``B`` mixed kernels), so they cross that threshold
where the static network's never do: a CondConv-8e 3x3 512->512 layer at batch 1 took 72 ms forward+backward with the
defaults and 23 ms with ``tune_glibc_malloc()`` (``tools/analysis/benchmark_condconv.py``; the ratios in README.md
compare both settings). The settings keep freed memory in the process heap for reuse (the resident size stays at
its peak instead of shrinking, and the heap grows by a few blocks before it settles, since ``posix_memalign`` asks
a little more than a freed block of the same tensor size holds): +2% peak RSS for that layer's training, +5-11% for
SSDLite training steps. That suits training and benchmark processes.
"""
import ctypes
import ctypes.util
import os
import sys

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_LARGEST = 2**31 - 1  # glibc takes an int
DISABLE_ENV = 'CONDCONV_NO_MALLOC_TUNING'


def tune_glibc_malloc() -> bool:
    """Serve large allocations from the reusable heap (no mmap, no trimming); True when glibc accepted it.

    A no-op returning False off Linux/glibc, and when the environment variable ``CONDCONV_NO_MALLOC_TUNING`` is set
    to anything but ``0`` / empty. Settings affect allocations made after the call.
    """
    if os.environ.get(DISABLE_ENV, '') not in ('', '0') or not sys.platform.startswith('linux'):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library('c') or 'libc.so.6')
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (e.g. musl): nothing to tune
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return mallopt(_M_MMAP_THRESHOLD, _LARGEST) == 1 and mallopt(_M_TRIM_THRESHOLD, _LARGEST) == 1
