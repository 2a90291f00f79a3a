"""End to end through the tools, as a user runs them: tools/train.py trains, validates and checkpoints; tools/test.py
reproduces the validation mAP from the checkpoint; --resume continues; BCCD converts, trains and evaluates.
torch's weights_only=True default stays in force throughout (the plugin only allow-lists mmengine's types)."""
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO_CONFIG = ROOT / 'configs/ssdlite/ssdlite_condconv8x-mobilenetv2_1xb16-30e_demo.py'
BCCD_CONFIG = ROOT / 'configs/ssdlite/ssdlite_mobilenetv2_1xb8-24e_bccd.py'
SMALL_RUN = [
    'train_dataloader.batch_size=4', 'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
    'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False', 'test_dataloader.num_workers=0',
    'test_dataloader.persistent_workers=False', 'default_hooks.logger.interval=1',
]
MAP_PATTERN = re.compile(r'coco/bbox_mAP: (-?[\d.]+)')

pytestmark = pytest.mark.slow


def _run(args, cwd):
    proc = subprocess.run([sys.executable, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=900)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, f'{args[0]} failed ({proc.returncode}):\n{output[-4000:]}'
    assert 'weights_only' not in output.replace('weights_only=True', ''), output[-2000:]
    return output


@pytest.fixture(scope='module')
def tiny_demo(tmp_path_factory):
    work = tmp_path_factory.mktemp('demo')
    _run([ROOT / 'tools/misc/make_demo_dataset.py', '--out', 'data/demo', '--num-train', '16', '--num-val', '8'],
         cwd=work)
    return work


def test_train_test_resume_on_demo(tiny_demo):
    options = SMALL_RUN + ['train_cfg.max_epochs=2', 'train_cfg.val_interval=1', 'default_hooks.checkpoint.interval=1']
    out = _run([ROOT / 'tools/train.py', DEMO_CONFIG, '--work-dir', 'wd', '--cfg-options', *options], cwd=tiny_demo)
    val_maps = [float(m) for m in MAP_PATTERN.findall(out)]
    assert len(val_maps) == 2, out[-3000:]  # validated after each epoch
    work_dir = tiny_demo / 'wd'
    assert (work_dir / 'epoch_2.pth').is_file() and (work_dir / 'epoch_1.pth').is_file()
    last = (work_dir / 'last_checkpoint').read_text().strip()
    assert last.endswith('epoch_2.pth')

    out = _run([ROOT / 'tools/test.py', DEMO_CONFIG, last, '--work-dir', 'wd/test', '--cfg-options', *SMALL_RUN],
               cwd=tiny_demo)
    test_maps = [float(m) for m in MAP_PATTERN.findall(out)]
    assert test_maps == [pytest.approx(val_maps[-1], abs=1e-3)], out[-3000:]

    options[options.index('train_cfg.max_epochs=2')] = 'train_cfg.max_epochs=3'
    out = _run([ROOT / 'tools/train.py', DEMO_CONFIG, '--work-dir', 'wd', '--resume', '--cfg-options', *options],
               cwd=tiny_demo)
    assert 'resumed epoch: 2' in out, out[-3000:]
    assert (work_dir / 'epoch_3.pth').is_file()
    assert 'Epoch(train)   [1]' not in out  # continued, not restarted


def test_bccd_converts_trains_two_iterations_and_evaluates(tmp_path, bccd_root):
    _run([ROOT / 'tools/dataset_converters/voc2coco.py', bccd_root, '--out', 'data/bccd', '--classes', 'RBC', 'WBC',
          'Platelets'], cwd=tmp_path)
    # 16 images at batch 8: exactly 2 training iterations, then validation on 16 val images.
    options = SMALL_RUN + ['train_dataloader.batch_size=8', 'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
                           'train_dataloader.dataset.indices=16', 'val_dataloader.dataset.indices=16']
    out = _run([ROOT / 'tools/train.py', BCCD_CONFIG, '--work-dir', 'wd', '--cfg-options', *options], cwd=tmp_path)
    assert re.search(r'Epoch\(train\)\s+\[1\]\[2/2\]', out), out[-3000:]
    assert len(MAP_PATTERN.findall(out)) == 1, out[-3000:]
    ckpt = (tmp_path / 'wd/last_checkpoint').read_text().strip()
    out = _run([ROOT / 'tools/test.py', BCCD_CONFIG, ckpt, '--work-dir', 'wd/test', '--cfg-options', *SMALL_RUN,
                'test_dataloader.dataset.indices=16'], cwd=tmp_path)
    assert len(MAP_PATTERN.findall(out)) == 1, out[-3000:]
