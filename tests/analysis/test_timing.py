"""The benchmarks' timing helpers: the busy-CPU check reads /proc/stat right and warns beside a spinning process;
round-robin timing interleaves the functions."""
import subprocess
import sys
import time

import torch

from condconv_det.analysis import timing


def test_busy_cores_counts_other_processes_and_warns(capsys) -> None:
    before = 'cpu  100 0 100 1000 0 0 0 0 0 0\ncpu0 50 0 50 500 0 0 0 0\ncpu1 50 0 50 500 0 0 0 0\n'
    after = 'cpu  200 0 100 1100 0 0 0 0 0 0\ncpu0 150 0 50 500 0 0 0 0\ncpu1 50 0 50 600 0 0 0 0\n'
    assert timing.busy_cores(before, after) == 1.0  # 100 busy + 100 idle jiffies on 2 cores: one core busy
    assert timing.busy_cores(before, before) == 0.0
    spinner = subprocess.Popen([sys.executable, '-c', 'while True: pass'])
    try:
        time.sleep(0.5)
        busy = timing.warn_if_cpu_busy(interval=1.0, limit=0.3)
    finally:
        spinner.kill()
    assert busy is not None and busy > 0.7  # the spinning process holds one core
    assert 'latencies below are unreliable: time on an idle machine' in capsys.readouterr().err


def test_time_round_robin_interleaves_and_counts_repeats() -> None:
    calls = []
    ticks = iter(range(100))
    samples = timing.time_round_robin({'a': lambda: calls.append('a'), 'b': lambda: calls.append('b')}, repeats=3,
                                      warmup=1, device=torch.device('cpu'), clock=lambda: next(ticks) / 1e3,
                                      check_cpu=False)
    assert calls == ['a', 'b'] * 4
    assert {name: [round(ms, 9) for ms in values] for name, values in samples.items()} == {'a': [1.0] * 3,
                                                                                          'b': [1.0] * 3}
