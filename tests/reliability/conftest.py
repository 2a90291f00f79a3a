"""Fixture of the reliability tests: a tiny demo dataset in a working directory."""
from pathlib import Path

import pytest
from reliability_utils import ROOT, run_tool


@pytest.fixture(scope='session')
def tiny_demo_dir(tmp_path_factory) -> Path:
    """A working directory holding data/demo with 8 train / 4 val images (the configs' data_root)."""
    work = tmp_path_factory.mktemp('reliability_demo')
    run_tool([ROOT / 'tools/misc/make_demo_dataset.py', '--out', 'data/demo', '--num-train', '8', '--num-val', '4'],
             cwd=work)
    return work
