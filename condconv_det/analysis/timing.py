"""Timing helpers shared by the benchmarks: interleaved (round-robin) timing and a check for a busy CPU.

CPU latency ratios are only meaningful on an idle machine (measured here: 0.98x-1.89x for a 1.03x pair timed beside
other work), so CPU timings first measure, from ``/proc/stat``, how many cores other processes keep busy.
"""
import os
import sys
import time
from typing import Callable, Dict, List, Optional, Tuple

import torch


def synchronize(device: torch.device) -> None:
    if device.type == 'cuda':
        torch.cuda.synchronize(device)


def busy_cores(stat_before: str, stat_after: str) -> float:
    """Cores kept busy between two readings of ``/proc/stat`` (its aggregate ``cpu`` line: user .. steal jiffies;
    idle and iowait count as idle), as a number of cores."""
    def jiffies(stat: str) -> Tuple[int, int, int]:
        fields = [int(v) for v in stat.splitlines()[0].split()[1:9]]
        cores = sum(1 for line in stat.splitlines() if line.startswith('cpu') and line[3:4].isdigit())
        return sum(fields), fields[3] + fields[4], cores
    total0, idle0, cores = jiffies(stat_before)
    total1, idle1, _ = jiffies(stat_after)
    if total1 <= total0:
        return 0.0
    return cores * (1.0 - (idle1 - idle0) / (total1 - total0))


def warn_if_cpu_busy(interval: float = 1.0, limit: float = 0.3) -> Optional[float]:
    """Sleep ``interval`` s and measure how many cores other processes keep busy meanwhile; warn (stderr) above
    ``limit``. Returns the busy cores, or None where ``/proc/stat`` is missing (not Linux: no check)."""
    try:
        with open('/proc/stat') as f:
            before = f.read()
        time.sleep(interval)
        with open('/proc/stat') as f:
            after = f.read()
    except OSError:
        return None
    busy = busy_cores(before, after)
    if busy > limit:
        print(f'warning: other processes keep {busy:.1f} of {os.cpu_count()} cores busy; the CPU latencies below '
              'are unreliable: time on an idle machine', file=sys.stderr)
    return busy


def time_round_robin(fns: Dict[str, Callable[[], None]], repeats: int, warmup: int, device: torch.device,
                     clock: Callable[[], float] = time.perf_counter, check_cpu: bool = True) -> Dict[str, List[float]]:
    """Milliseconds of each function over ``repeats`` interleaved rounds (``a, b, a, b, ...``: load changes hit all
    alike), after ``warmup`` rounds; on CPU, first :func:`warn_if_cpu_busy` unless ``check_cpu`` is False (callers
    that time many cases check once)."""
    if device.type == 'cpu' and check_cpu:
        warn_if_cpu_busy()
    for _ in range(warmup):
        for fn in fns.values():
            fn()
            synchronize(device)
    samples: Dict[str, List[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            synchronize(device)
            start = clock()
            fn()
            synchronize(device)
            samples[name].append((clock() - start) * 1e3)
    return samples
