"""Fixtures of the deployment tests: one tiny demo dataset for every test that runs a tool on real images."""
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='session')
def demo_work(tmp_path_factory) -> Path:
    """A folder holding ``data/demo`` (8 train / 4 val images): the demo configs' ``data_root`` is relative, so
    tools run from it."""
    work = tmp_path_factory.mktemp('deployment_demo')
    subprocess.run([sys.executable, str(ROOT / 'tools/misc/make_demo_dataset.py'), '--out', 'data/demo',
                    '--num-train', '8', '--num-val', '4'], cwd=work, check=True, capture_output=True)
    return work
