#!/usr/bin/env python
"""Evaluate a checkpoint with mmdet's own ``tools/test.py``, condconv_det registered. Same command line as mmdet::

    python tools/test.py CONFIG CHECKPOINT [--work-dir DIR] [--out results.pkl] [--show-dir DIR]
                         [--cfg-options k=v ...] [--launcher {none,pytorch,slurm,mpi}] [--tta]
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout, even without `pip install -e`
from condconv_det.utils import run_mmdet_tool  # noqa: E402

if __name__ == '__main__':
    run_mmdet_tool('test.py')
