"""Fixture of the reliability tests: a tiny demo dataset in a working directory."""
from pathlib import Path

import pytest
from reliability_utils import make_demo_data


@pytest.fixture(scope='session')
def tiny_demo_dir(tmp_path_factory) -> Path:
    """A working directory holding data/demo with 8 train / 4 val images (the configs' data_root)."""
    return make_demo_data(tmp_path_factory.mktemp('reliability_demo'), num_train=8, num_val=4)
