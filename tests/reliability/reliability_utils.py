"""Helpers of the reliability tests: derived tiny configs and running the tools in a subprocess."""
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

ROOT = Path(__file__).resolve().parents[2]
CONDCONV_DEMO = ROOT / 'configs/ssdlite/ssdlite_condconv8x-mobilenetv2_1xb16-30e_demo.py'
# One thread per process: bit-reproducible CPU kernels and no oversubscription of CI's cores.
SUBPROCESS_ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1', 'PYTHONUNBUFFERED': '1'}

# The CondConv demo model (full width, 2 experts instead of 8 to keep checkpoints small) on 8 images of
# 160x160, batch 2, no validation, a checkpoint per epoch; the training set is the validating CheckedCocoDataset.
TINY_RUN = """
_base_ = {base!r}
custom_imports = dict(imports=['condconv_det'], allow_failed_imports=False)
custom_hooks = [dict(type='NumClassCheckHook'), dict(type='CheckInvalidLossHook', interval=1, priority='VERY_LOW')
                {extra_hooks}]
val_cfg = None
val_dataloader = None
val_evaluator = None
test_cfg = None
test_dataloader = None
test_evaluator = None
default_hooks = dict(checkpoint=dict(interval=1, save_best=None, max_keep_ckpts=-1), logger=dict(interval=1))
train_dataloader = dict(batch_size=2, num_workers={workers}, persistent_workers=False,
                        dataset=dict(type='CheckedCocoDataset'))
train_cfg = dict(max_epochs={epochs})
randomness = dict(seed=0, deterministic=True)
model = dict(backbone=dict(num_experts={experts}), bbox_head=dict(num_experts={experts}))
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
{extra}
"""


def write_tiny_config(directory: Path, name: str = 'tiny.py', epochs: int = 1, workers: int = 0,
                      experts: int = 2, extra_hooks: Sequence[str] = (), extra: str = '') -> Path:
    """A config derived from the CondConv demo config, small enough for CI."""
    hooks = ''.join(f', {hook}' for hook in extra_hooks)
    path = directory / name
    path.write_text(TINY_RUN.format(base=str(CONDCONV_DEMO), extra_hooks=hooks, workers=workers, epochs=epochs,
                                    experts=experts, extra=extra))
    return path


def run_tool(args: Sequence, cwd: Path, timeout: int = 600, env_extra: Optional[Dict[str, str]] = None) -> str:
    """Run a python tool (or `bash script`) to completion; assert success; return stdout + stderr."""
    cmd: List[str] = [str(a) for a in args]
    if not cmd[0].endswith('.sh'):
        cmd = [sys.executable, *cmd]
    else:
        cmd = ['bash', *cmd]
    env: Dict[str, str] = {**SUBPROCESS_ENV, 'PYTHON': sys.executable, **(env_extra or {})}
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'{cmd[:3]} failed ({proc.returncode}):\n{output[-5000:]}'
    return output


def make_demo_data(directory: Path, num_train: int, num_val: int) -> Path:
    """Generate the demo dataset into ``directory/data/demo`` (the configs' data_root); return ``directory``."""
    run_tool([ROOT / 'tools/misc/make_demo_dataset.py', '--out', 'data/demo', '--num-train', str(num_train),
              '--num-val', str(num_val)], cwd=directory)
    return directory
