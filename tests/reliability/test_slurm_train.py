"""tools/slurm_train.sh builds the mmdet-style srun command (checked with a stand-in `srun` on PATH)."""
import os
import subprocess

from reliability_utils import ROOT


def test_slurm_train_composes_srun_for_two_nodes(tmp_path):
    fake = tmp_path / 'bin'
    fake.mkdir()
    (fake / 'srun').write_text('#!/usr/bin/env bash\nprintf "%s\\n" "PORT=$PORT" "$@"\n')
    (fake / 'srun').chmod(0o755)
    env = {**os.environ, 'PATH': f'{fake}:{os.environ["PATH"]}', 'GPUS': '16', 'SRUN_ARGS': '--quotatype=auto'}
    out = subprocess.run(['bash', str(ROOT / 'tools/slurm_train.sh'), 'gpu', 'job', 'cfg.py', 'wd', '--resume'],
                         env=env, capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[:9] == ['PORT=29500', '-p', 'gpu', '--job-name=job', '--gres=gpu:8', '--ntasks=16',
                       '--ntasks-per-node=8', '--cpus-per-task=5', '--kill-on-bad-exit=1']
    assert out[9] == '--quotatype=auto' and out[10] == 'python' and out[11] == '-u'
    assert out[12].endswith('tools/train.py')
    assert out[13:] == ['cfg.py', '--work-dir=wd', '--launcher=slurm', '--resume']


def test_slurm_train_usage_without_arguments():
    proc = subprocess.run(['bash', str(ROOT / 'tools/slurm_train.sh')], capture_output=True, text=True)
    assert proc.returncode == 2 and 'usage: bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR' in proc.stderr
