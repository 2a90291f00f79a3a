"""Tests for tools/misc/make_demo_dataset.py: determinism, COCO validity, idempotency."""
import hashlib
import json
import time
from pathlib import Path
from types import ModuleType

import cv2
import pytest
from pycocotools.coco import COCO

SMALL = dict(num_train=8, num_val=4, img_size=96, seed=3)


@pytest.fixture(scope='module')
def demo(load_tool) -> ModuleType:
    """tools/misc/make_demo_dataset.py as a module."""
    return load_tool('tools/misc/make_demo_dataset.py')


def _digest(out: Path) -> dict:
    """sha256 of every file under ``out`` keyed by relative path."""
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.rglob('*')) if p.is_file()}


@pytest.fixture(scope='module')
def small_dataset(tmp_path_factory, demo) -> Path:
    out = tmp_path_factory.mktemp('demo') / 'demo'
    demo.make_demo_dataset(str(out), **SMALL)
    return out


def _coco(out: Path, split: str) -> dict:
    return json.loads((out / 'annotations' / f'instances_{split}.json').read_text())


def test_two_runs_are_byte_identical(small_dataset, tmp_path, demo):
    other = tmp_path / 'again'
    demo.make_demo_dataset(str(other), **SMALL)
    a, b = _digest(small_dataset), _digest(other)
    assert a == b
    assert sum(k.endswith('.jpg') for k in a) == SMALL['num_train'] + SMALL['num_val']
    assert {'annotations/instances_train.json', 'annotations/instances_val.json'} <= set(a)


def test_image_content_does_not_depend_on_split_sizes(small_dataset, tmp_path, demo):
    fewer = tmp_path / 'fewer'
    demo.make_demo_dataset(str(fewer), num_train=2, num_val=1, img_size=96, seed=3)
    for rel in ('train/000000.jpg', 'train/000001.jpg', 'val/000000.jpg'):
        assert (fewer / rel).read_bytes() == (small_dataset / rel).read_bytes()


def test_other_seed_gives_other_images(small_dataset, tmp_path, demo):
    other = tmp_path / 'seed4'
    demo.make_demo_dataset(str(other), **dict(SMALL, seed=4))
    assert (other / 'train/000000.jpg').read_bytes() != \
        (small_dataset / 'train/000000.jpg').read_bytes()


def test_coco_structure_counts_and_boxes(small_dataset, demo):
    size = SMALL['img_size']
    img_ids, ann_ids = set(), set()
    classes_seen = set()
    for split, num in (('train', SMALL['num_train']), ('val', SMALL['num_val'])):
        coco = _coco(small_dataset, split)
        assert len(coco['images']) == num
        assert [c['id'] for c in coco['categories']] == [1, 2, 3]
        assert [c['name'] for c in coco['categories']] == list(demo.CLASSES)
        info = coco['info']
        assert info['seed'] == SMALL['seed'] and info['version'] == demo.VERSION
        assert info['fingerprint'] == demo.fingerprint(**SMALL)
        for im in coco['images']:
            assert im['id'] not in img_ids
            img_ids.add(im['id'])
            arr = cv2.imread(str(small_dataset / split / im['file_name']))
            assert arr is not None and arr.shape == (size, size, 3)
            assert (im['width'], im['height']) == (size, size)
        ids = {im['id'] for im in coco['images']}
        for a in coco['annotations']:
            assert a['id'] not in ann_ids
            ann_ids.add(a['id'])
            assert a['image_id'] in ids and a['iscrowd'] == 0
            x, y, w, h = a['bbox']
            assert w > 0 and h > 0 and x >= 0 and y >= 0
            assert x + w <= size and y + h <= size
            assert a['area'] == pytest.approx(w * h)
            classes_seen.add(a['category_id'])
        assert len(coco['annotations']) >= num  # at least one object per image on average
        api = COCO(str(small_dataset / 'annotations' / f'instances_{split}.json'))
        assert len(api.getImgIds()) == num and len(api.getCatIds()) == 3
    assert classes_seen == {1, 2, 3}


def test_default_sized_generation_covers_sizes_and_classes(tmp_path, demo):
    """A mid-size run: every class, small and medium objects, ~1-6 objects per image."""
    res = demo.make_demo_dataset(str(tmp_path / 'd'), num_train=40, num_val=2, img_size=160,
                                 seed=0)
    s = res['summary']['train']
    assert all(n >= 10 for n in s['per_class'].values()), s
    assert s['sizes']['small'] > 0 and s['sizes']['medium'] > 0, s
    assert 40 <= s['boxes'] <= 6 * 40


def test_rerun_with_matching_fingerprint_is_a_fast_noop(small_dataset, demo):
    before = {p: p.stat().st_mtime_ns for p in small_dataset.rglob('*') if p.is_file()}
    t0 = time.perf_counter()
    res = demo.make_demo_dataset(str(small_dataset), **SMALL)
    assert time.perf_counter() - t0 < 2.0
    assert res['generated'] is False
    after = {p: p.stat().st_mtime_ns for p in small_dataset.rglob('*') if p.is_file()}
    assert before == after


def test_changed_parameters_or_missing_image_or_force_regenerate(tmp_path, demo):
    out = tmp_path / 'd'
    assert demo.make_demo_dataset(str(out), num_train=3, num_val=2, img_size=96)['generated']
    assert not demo.make_demo_dataset(str(out), num_train=3, num_val=2, img_size=96)['generated']
    assert demo.make_demo_dataset(str(out), num_train=3, num_val=2, img_size=96,
                                  force=True)['generated']
    (out / 'val/000001.jpg').unlink()
    assert demo.make_demo_dataset(str(out), num_train=3, num_val=2, img_size=96)['generated']
    res = demo.make_demo_dataset(str(out), num_train=2, num_val=2, img_size=96)
    assert res['generated'] and res['summary']['train']['images'] == 2
    assert not (out / 'train/000002.jpg').exists()  # stale image of the larger run removed


def test_cli_prints_summary_and_second_run_says_up_to_date(tmp_path, capsys, demo):
    args = ['--out', str(tmp_path / 'd'), '--num-train', '3', '--num-val', '2',
            '--img-size', '96']
    assert demo.main(args) == 0
    out = capsys.readouterr().out
    assert 'generated' in out and 'train: 3 images' in out and 'circle' in out
    assert demo.main(args) == 0
    assert 'up to date' in capsys.readouterr().out
    with pytest.raises(SystemExit) as e:
        demo.main(['--help'])
    assert e.value.code == 0
