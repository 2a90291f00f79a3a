"""tune_glibc_malloc: once the heap has settled, reusing a large CPU buffer costs no page faults (glibc's defaults
re-mmap it every time); the environment switch turns it off."""
import subprocess
import sys

import pytest

from condconv_det.utils import cpu_allocator
from condconv_det.utils.cpu_allocator import DISABLE_ENV

PROBE = '''
import importlib.util, resource, sys, torch
spec = importlib.util.spec_from_file_location('cpu_allocator', sys.argv[2])  # without importing mmdet
allocator = importlib.util.module_from_spec(spec)
spec.loader.exec_module(allocator)
tune_glibc_malloc = allocator.tune_glibc_malloc
tuned = tune_glibc_malloc() if sys.argv[1] == 'tune' else None
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(16):  # 64 MiB blocks, above any glibc mmap threshold; tuned, the heap grows for a few rounds
    torch.empty(2**24).fill_(1.0)  # (posix_memalign asks a bit more than a freed block holds) and then settles
before = faults()
for _ in range(10):
    torch.empty(2**24).fill_(1.0)
print(tuned, faults() - before)
'''


def _probe(mode: str, env: dict = None) -> tuple:
    import os
    command = [sys.executable, '-c', PROBE, mode, cpu_allocator.__file__]
    out = subprocess.run(command, capture_output=True, text=True, check=True,
                         env={**os.environ, **(env or {})}).stdout.split()
    return out[0], int(out[1])


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc malloc only')
def test_tuned_malloc_reuses_large_buffers_without_page_faults() -> None:
    _, default_faults = _probe('default')
    tuned, tuned_faults = _probe('tune', {DISABLE_ENV: ''})
    assert tuned == 'True'
    pages_per_buffer = 2**26 // 4096
    assert default_faults >= 9 * pages_per_buffer  # re-mmapped and faulted in on every reuse
    assert tuned_faults <= 0.2 * pages_per_buffer  # settled: freed blocks are reused as they are


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc malloc only')
def test_environment_switch_keeps_the_defaults() -> None:
    tuned, _ = _probe('tune', {DISABLE_ENV: '1'})
    assert tuned == 'False'
