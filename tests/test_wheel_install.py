"""The built wheel, installed alone into a fresh venv with the pinned stack, works outside the repository:
tools/misc/check_wheel_install.py trains and evaluates a config inheriting ``condconv_det::`` with ``mim`` and with
mmdet's own tools (about 3 minutes, most of it installing torch and the stack)."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def test_wheel_installs_and_runs_outside_the_repository(tmp_path):
    assert ROOT not in tmp_path.parents
    proc = subprocess.run([sys.executable, str(ROOT / 'tools/misc/check_wheel_install.py'), '--work-dir',
                           str(tmp_path / 'check')], capture_output=True, text=True, timeout=1200)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-8000:]
    steps = [line for line in proc.stdout.splitlines() if line.startswith('[check_wheel_install]')]
    for step in ('mim train condconv_det', 'mim test condconv_det', "mmdet's tools/train.py", "mmdet's tools/test.py"):
        assert any(step in line for line in steps), output[-4000:]
    assert steps[-1].startswith('[check_wheel_install] OK'), output[-4000:]
    print('\n'.join(steps))
