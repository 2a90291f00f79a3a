#!/usr/bin/env python
"""Train a detector with mmdet's own ``tools/train.py``, condconv_det registered. Same command line as mmdet::

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp] [--auto-scale-lr]
                          [--cfg-options k=v ...] [--launcher {none,pytorch,slurm,mpi}]
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout, even without `pip install -e`
from condconv_det.utils import run_mmdet_tool  # noqa: E402

if __name__ == '__main__':
    run_mmdet_tool('train.py')
