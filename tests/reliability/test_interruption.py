"""SIGKILL a training run mid-epoch, `--resume` it, and get the uninterrupted run's weights and logged losses.

Deterministic mode (`randomness=dict(seed=0, deterministic=True)`), one thread per process, and a data loader worker
that is re-created (and re-seeded by mmengine with the same seed) every epoch, so the random flips of an epoch do not
depend on what ran before it. mmengine's EpochBasedTrainLoop resumes at the start of the epoch after the last
checkpoint, so the killed epoch is re-run from its beginning.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import condconv_det  # noqa: F401  (mmengine's checkpoint types on the weights_only allow-list)

from reliability_utils import ROOT, SUBPROCESS_ENV, run_tool, write_tiny_config

pytestmark = pytest.mark.slow
EPOCHS = 2
KILL_AT = re.compile(r'Epoch\(train\)\s+\[2\]\[2/4\]')  # 8 images, batch 2: 4 iterations per epoch


def _logged(work_dir: Path) -> dict:
    """step -> logged scalars, over every run (timestamped folder) in work_dir."""
    steps = {}
    for scalars in sorted(work_dir.glob('*/vis_data/scalars.json')):
        for line in scalars.read_text().splitlines():
            record = json.loads(line)
            steps[record['step']] = record
    return steps


def _weights(path: Path) -> dict:
    return torch.load(path, map_location='cpu', weights_only=True)['state_dict']


def test_sigkill_mid_epoch_then_resume_equals_uninterrupted(tiny_demo_dir):
    config = write_tiny_config(tiny_demo_dir, 'interrupt.py', epochs=EPOCHS, workers=1)
    train = ROOT / 'tools/train.py'
    straight_log = open(tiny_demo_dir / 'straight.log', 'w')
    straight_run = subprocess.Popen([sys.executable, str(train), str(config), '--work-dir', 'straight'],
                                    cwd=tiny_demo_dir, env=SUBPROCESS_ENV, stdout=straight_log,
                                    stderr=subprocess.STDOUT)  # alongside the run we kill
    proc = subprocess.Popen([sys.executable, str(train), str(config), '--work-dir', 'killed'], cwd=tiny_demo_dir,
                            env=SUBPROCESS_ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    seen = []
    deadline = time.monotonic() + 600
    for line in proc.stdout:
        seen.append(line)
        if KILL_AT.search(line):
            os.killpg(proc.pid, signal.SIGKILL)  # the trainer and its data loader worker, mid-epoch 2
            break
        assert time.monotonic() < deadline, ''.join(seen[-50:])
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, ''.join(seen[-50:])
    killed = tiny_demo_dir / 'killed'
    assert not (killed / 'epoch_2.pth').exists() and (killed / 'epoch_1.pth').is_file()

    out = run_tool([train, config, '--work-dir', 'killed', '--resume'], cwd=tiny_demo_dir)
    straight_run.wait(timeout=600)
    straight_log.close()
    assert straight_run.returncode == 0, (tiny_demo_dir / 'straight.log').read_text()[-3000:]
    assert 'resumed epoch: 1, iter: 4' in out, out[-3000:]

    straight, resumed = _weights(tiny_demo_dir / 'straight/epoch_2.pth'), _weights(killed / 'epoch_2.pth')
    assert straight.keys() == resumed.keys()
    worst = max((straight[k].double() - resumed[k].double()).abs().max().item() for k in straight
                if straight[k].is_floating_point())
    assert worst <= 1e-6, f'largest weight difference {worst}'

    logged_straight, logged_resumed = _logged(tiny_demo_dir / 'straight'), _logged(killed)
    assert sorted(logged_straight) == list(range(1, EPOCHS * 4 + 1))
    assert sorted(logged_resumed) == sorted(logged_straight)  # steps 5-6 of the killed run are re-logged on resume
    for step, record in logged_straight.items():
        for key in ('loss', 'loss_cls', 'loss_bbox', 'lr'):
            assert logged_resumed[step][key] == pytest.approx(record[key], rel=1e-5, abs=1e-6), (step, key)
