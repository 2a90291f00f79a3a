#!/usr/bin/env python
"""Install condconv_det the way a user does and use it outside the repository.

    python tools/misc/check_wheel_install.py [--work-dir DIR] [--keep]

1. builds the wheel from a copy of the checkout's files (git's tracked and untracked-but-not-ignored files, so
   nothing stale from ``build/`` gets in), as ``pip install .`` would;
2. creates a fresh venv (no ``--system-site-packages``, nothing from this checkout's .venv) and installs the pinned
   stack of requirements/constraints.txt with openmim, the mmcv wheel that tools/setup_env.sh cached, and then the
   built wheel *with* its dependencies resolved by pip (they must all be satisfied by the pinned stack);
3. in a temporary directory outside the repository: generates demo data with the installed
   ``condconv_det/.mim/tools/misc/make_demo_dataset.py`` and writes :data:`USER_CONFIG`, a config that inherits
   ``condconv_det::ssdlite/…`` (2 training iterations, validation at the end);
4. ``python -m mim train condconv_det`` and ``python -m mim test condconv_det``, then mmdet's own
   ``tools/train.py`` and ``tools/test.py`` (the ones inside the mmdet package) on the same config; each run must
   train/evaluate, print no registry-scope fallback warning, and both tests of the mim checkpoint must agree.

Needs PyPI (or pip's cache) for the stack; prints a line per step with its time; exits non-zero on the first
failure. ``tests/test_wheel_install.py`` (marked slow) runs it in CI.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

REPO = Path(__file__).resolve().parents[2]
CONSTRAINTS = REPO / 'requirements' / 'constraints.txt'
# Installed into the fresh venv with `-c constraints.txt`: what the plugin, mmdet's tools and mim need at run time
# (tools/setup_env.sh's list without the test and export tools).
STACK = ('torch', 'setuptools', 'mmengine-lite', 'opencv-python-headless', 'mmdet', 'pycocotools', 'matplotlib',
         'scipy', 'shapely', 'terminaltables', 'addict', 'yapf', 'pillow', 'pyyaml', 'packaging', 'tqdm', 'rich',
         'termcolor', 'openmim')
BASE_CONFIG = 'ssdlite/ssdlite_condconv8x-mobilenetv2_1xb16-30e_demo.py'
USER_CONFIG = f"""# A user's config outside the repository: the plugin's CondConv demo detector, shortened to one epoch
# of 4 images at batch 2 (2 iterations) with validation and a checkpoint at its end.
_base_ = 'condconv_det::{BASE_CONFIG}'

train_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False)
val_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False)
test_dataloader = dict(batch_size=2, num_workers=0, persistent_workers=False)
train_cfg = dict(max_epochs=1, val_interval=1)
default_hooks = dict(logger=dict(interval=1))
"""
DEMO_IMAGES = dict(train=4, val=2)
# What mmengine logs when a config's `_scope_` does not resolve to a registry (or a package's registry module).
FALLBACK_WARNINGS = ('Failed to search registry', 'Failed to import', 'is not installed and its modules')
MAP_PATTERN = re.compile(r'coco/bbox_mAP: (-?[\d.]+)')


def mmcv_wheel(python_version: str, torch_version: str) -> Path:
    """The mmcv wheel tools/setup_env.sh builds and caches (``MMCV_WHEEL`` overrides)."""
    if os.environ.get('MMCV_WHEEL'):
        return Path(os.environ['MMCV_WHEEL'])
    cache = Path(os.environ.get('XDG_CACHE_HOME', Path.home() / '.cache')) / 'condconv_det' / 'wheels'
    found = sorted((cache / f'py{python_version}-torch{torch_version}').glob('mmcv-2.1.0-*.whl'))
    if not found:
        raise SystemExit(f'no cached mmcv wheel in {cache}: run `bash tools/setup_env.sh` first (it builds one)')
    return found[0]


class Steps:
    """Runs commands, prints one timed line per step, keeps their output for the checks."""

    def __init__(self, env: Dict[str, str]) -> None:
        self.env = env
        self.start = time.time()

    def run(self, label: str, cmd: Sequence, cwd: Path, timeout: int = 600) -> str:
        begin = time.time()
        proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=self.env, capture_output=True, text=True,
                              timeout=timeout)
        output = proc.stdout + proc.stderr
        print(f'[check_wheel_install] {label}: {time.time() - begin:.1f} s'
              f'{"" if proc.returncode == 0 else f" FAILED ({proc.returncode})"}', flush=True)
        if proc.returncode != 0:
            raise SystemExit(f'{label} failed: {" ".join(map(str, cmd))}\n{output[-6000:]}')
        return output


def source_files(repo: Path) -> List[str]:
    listed = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], cwd=repo,
                            capture_output=True, check=True).stdout.decode().split('\0')
    return [name for name in listed if name and (repo / name).is_file()]


def copy_sources(repo: Path, dest: Path) -> None:
    for name in source_files(repo):
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / name, target)


def check_run(label: str, output: str, expect_map: bool = True) -> Optional[str]:
    """No scope fallback warning; the evaluation printed a bbox mAP (returned)."""
    for warning in FALLBACK_WARNINGS:
        for line in output.splitlines():
            if warning in line:
                raise SystemExit(f'{label}: registry scope fallback: {line}')
    found = MAP_PATTERN.findall(output)
    if expect_map and not found:
        raise SystemExit(f'{label}: no coco/bbox_mAP in the output:\n{output[-4000:]}')
    return found[-1] if found else None


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', help='where to build, install and run (default: a new temporary directory)')
    parser.add_argument('--keep', action='store_true', help='keep the work directory')
    args = parser.parse_args(argv)
    work = Path(args.work_dir or tempfile.mkdtemp(prefix='condconv_det_wheel_')).resolve()
    if work == REPO or REPO in work.parents:
        raise SystemExit(f'--work-dir {work} is inside the repository; the point is to run outside it')
    work.mkdir(parents=True, exist_ok=True)
    env = {key: value for key, value in os.environ.items() if key not in ('PYTHONPATH', 'VIRTUAL_ENV', 'PYTHONHOME')}
    env.update(OMP_NUM_THREADS='1', MKL_NUM_THREADS='1', PYTHONUNBUFFERED='1', PIP_DISABLE_PIP_VERSION_CHECK='1',
               PIP_NO_INPUT='1')
    steps = Steps(env)
    try:
        import torch
        torch_version = torch.__version__.split('+')[0]
        python_version = f'{sys.version_info[0]}.{sys.version_info[1]}'
        mmcv = mmcv_wheel(python_version, torch_version)

        src, dist, venv, run = work / 'src', work / 'dist', work / 'venv', work / 'run'
        for folder in (src, dist, run):
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
        copy_sources(REPO, src)
        steps.run('build the wheel', [sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps', '--no-build-isolation',
                                      src, '-w', dist], cwd=work)
        wheel = next(dist.glob('condconv_det-*.whl'))

        shutil.rmtree(venv, ignore_errors=True)
        steps.run('create a fresh venv', [sys.executable, '-m', 'venv', venv], cwd=work)
        python = venv / 'bin' / 'python'
        pip = [python, '-m', 'pip', 'install', '-q', '-c', CONSTRAINTS]
        steps.run('install the pinned stack and openmim', [*pip, f'torch=={torch_version}', *STACK[1:]], cwd=work,
                  timeout=900)
        steps.run('install the cached mmcv wheel', [*pip, '--no-deps', mmcv], cwd=work)
        steps.run(f'install {wheel.name} (its dependencies resolved by pip)', [*pip, wheel], cwd=work)

        where = steps.run('import the installed plugin', [python, '-c', (
            'import os, condconv_det, mmdet; print(os.path.dirname(condconv_det.__file__)); '
            'print(os.path.dirname(mmdet.__file__))')], cwd=run).split()
        package, mmdet_dir = Path(where[-2]), Path(where[-1])
        if venv not in package.parents:
            raise SystemExit(f'condconv_det imported from {package}, not from the fresh venv {venv}')
        for name in ('configs/' + BASE_CONFIG, 'tools/train.py', 'tools/test.py', 'model-index.yml'):
            if not (package / '.mim' / name).is_file():
                raise SystemExit(f'the wheel lacks condconv_det/.mim/{name}')

        steps.run('generate demo data', [python, package / '.mim/tools/misc/make_demo_dataset.py', '--out',
                                         'data/demo', '--num-train', DEMO_IMAGES['train'], '--num-val',
                                         DEMO_IMAGES['val']], cwd=run)
        (run / 'user_config.py').write_text(USER_CONFIG)

        mim = [python, '-m', 'mim']
        out = steps.run('mim train condconv_det user_config.py',
                        [*mim, 'train', 'condconv_det', 'user_config.py', '--work-dir', 'mim_train'], cwd=run)
        check_run('mim train', out)
        checkpoint = run / 'mim_train' / 'epoch_1.pth'
        if not checkpoint.is_file():
            raise SystemExit(f'mim train wrote no {checkpoint}')
        out = steps.run('mim test condconv_det user_config.py', [*mim, 'test', 'condconv_det', 'user_config.py',
                                                                 '--checkpoint', checkpoint, '--work-dir',
                                                                 'mim_test'], cwd=run)
        mim_map = check_run('mim test', out)
        out = steps.run("mmdet's tools/train.py user_config.py",
                        [python, mmdet_dir / '.mim/tools/train.py', 'user_config.py', '--work-dir', 'mmdet_train'],
                        cwd=run)
        check_run("mmdet's train.py", out)
        out = steps.run("mmdet's tools/test.py (the mim checkpoint)",
                        [python, mmdet_dir / '.mim/tools/test.py', 'user_config.py', checkpoint, '--work-dir',
                         'mmdet_test'], cwd=run)
        mmdet_map = check_run("mmdet's test.py", out)
        if mim_map != mmdet_map:
            raise SystemExit(f'mim test and mmdet tools/test.py disagree on one checkpoint: {mim_map} vs {mmdet_map}')
        print(f'[check_wheel_install] OK in {time.time() - steps.start:.0f} s: {wheel.name} installed in a fresh '
              f'venv; outside the repository a config inheriting condconv_det:: trained and evaluated with mim and '
              f"with mmdet's tools (bbox mAP {mim_map} both), no scope fallback warnings", flush=True)
    finally:
        if not args.keep and not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    main()
