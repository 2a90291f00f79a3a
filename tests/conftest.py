"""Shared fixtures: repository paths and the shared BCCD data (skipped with a reason when absent)."""
from pathlib import Path

import pytest
import torch

# One intra-op thread: the suite runs many tiny convolutions, which on a 2-core machine (CI, shared developer boxes)
# are far slower with a thread pool spinning; the benchmarks under tools/analysis choose their own thread counts.
torch.set_num_threads(1)

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_BCCD = REPO_ROOT.parent / 'shared' / 'data' / 'bccd' / 'BCCD'


@pytest.fixture(scope='session')
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope='session')
def bccd_root() -> Path:
    if not (SHARED_BCCD / 'Annotations').is_dir():
        pytest.skip(f'BCCD not found at {SHARED_BCCD} (CI provides it as ../shared/data/bccd)')
    return SHARED_BCCD
