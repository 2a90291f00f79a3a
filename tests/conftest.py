"""Shared fixtures: repository paths, the shared BCCD data (skipped with a reason when absent) and the devices.

A test that takes a ``device`` argument runs once per device: ``cpu`` always, ``cuda`` when
``torch.cuda.is_available()`` (skipped with that reason otherwise). ``tools/misc/gpu_check.sh`` selects the CUDA runs
with ``-k cuda``.
"""
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Callable

import pytest
import torch

# One intra-op thread: the suite runs many tiny convolutions, which on a 2-core machine (CI, shared developer boxes)
# are far slower with a thread pool spinning; the benchmarks under tools/analysis choose their own thread counts.
torch.set_num_threads(1)
# CUDA: cuDNN convolutions use TF32 (a 10-bit mantissa) by default on Ampere and later GPUs; the tests compare float32
# results of different strategies and layouts, so they run in full float32.
torch.backends.cudnn.allow_tf32 = False
torch.backends.cuda.matmul.allow_tf32 = False

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_BCCD = REPO_ROOT.parent / 'shared' / 'data' / 'bccd' / 'BCCD'


DEVICES = [
    pytest.param('cpu', id='cpu'),
    pytest.param('cuda', id='cuda',
                 marks=pytest.mark.skipif(not torch.cuda.is_available(), reason='no CUDA device on this machine')),
]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if 'device' in metafunc.fixturenames:
        metafunc.parametrize('device', DEVICES)


@pytest.fixture(scope='session')
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope='session')
def bccd_root() -> Path:
    if not (SHARED_BCCD / 'Annotations').is_dir():
        pytest.skip(f'BCCD not found at {SHARED_BCCD} (CI provides it as ../shared/data/bccd)')
    return SHARED_BCCD


def import_tool(relative_path: str) -> ModuleType:
    """Import a script under ``tools/`` (e.g. ``'tools/deployment/collapse_routing.py'``) as a module, without
    running its ``main``; cached in ``sys.modules`` under ``tools.<dir>.<name>`` so each tool is imported once."""
    path = REPO_ROOT / relative_path
    if not path.is_file():
        raise FileNotFoundError(f'no tool at {path}')
    name = '.'.join(Path(relative_path).with_suffix('').parts)
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
    return sys.modules[name]


@pytest.fixture(scope='session')
def load_tool() -> Callable[[str], ModuleType]:
    """``load_tool('tools/misc/check_dataset.py')`` -> the tool's module (see :func:`import_tool`)."""
    return import_tool
