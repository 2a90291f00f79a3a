"""Tests for tools/dataset_converters/voc2coco.py on synthetic VOC folders and on real BCCD."""
import json
import os
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[2]
BCCD = ROOT.parent / 'shared/data/bccd'


@pytest.fixture(scope='module')
def v2c(load_tool):
    return load_tool('tools/dataset_converters/voc2coco.py')

Obj = Tuple  # (name, (xmin, ymin, xmax, ymax) or None, difficult=0)


def _xml(filename: str, size: Optional[Tuple[int, int]], objects: Sequence[Obj]) -> str:
    parts = ['<annotation>', f'<filename>{filename}</filename>']
    if size is not None:
        parts.append(f'<size><width>{size[0]}</width><height>{size[1]}</height>'
                     '<depth>3</depth></size>')
    for obj in objects:
        name, box = obj[0], obj[1]
        diff = obj[2] if len(obj) > 2 else 0
        parts.append(f'<object><name>{name}</name><difficult>{diff}</difficult>')
        if box is not None:
            parts.append('<bndbox>' + ''.join(
                f'<{k}>{v}</{k}>' for k, v in zip(('xmin', 'ymin', 'xmax', 'ymax'), box)) +
                '</bndbox>')
        parts.append('</object>')
    parts.append('</annotation>')
    return '\n'.join(parts)


def make_voc(root: Path, images: Dict[str, dict], splits: Dict[str, List[str]]) -> Path:
    """Write a tiny VOC dataset. ``images[id]`` has ``objects``, optional ``size`` (XML size,
    default the image size; None omits it), ``img_size`` (default 64×48), ``xml`` (raw text
    override), ``no_xml`` / ``no_jpg`` flags."""
    for d in ('Annotations', 'JPEGImages', 'ImageSets/Main'):
        (root / d).mkdir(parents=True, exist_ok=True)
    for img_id, spec in images.items():
        w, h = spec.get('img_size', (64, 48))
        if not spec.get('no_jpg'):
            Image.fromarray(np.full((h, w, 3), 128, np.uint8)).save(
                root / 'JPEGImages' / f'{img_id}.jpg')
        if not spec.get('no_xml'):
            text = spec.get('xml') or _xml(f'{img_id}.jpg', spec.get('size', (w, h)),
                                           spec.get('objects', []))
            (root / 'Annotations' / f'{img_id}.xml').write_text(text)
    for split, ids in splits.items():
        (root / 'ImageSets/Main' / f'{split}.txt').write_text(''.join(f'{i}\n' for i in ids))
    return root


def _json(out: Path, split: str) -> dict:
    return json.loads((out / 'annotations' / f'instances_{split}.json').read_text())


def test_clean_conversion_boxes_ids_and_class_order(v2c, tmp_path):
    voc = make_voc(tmp_path / 'voc', {
        'a': dict(objects=[('cat', (1, 1, 10, 20)), ('dog', (11, 5, 64, 48))]),
        'b': dict(objects=[('dog', (5, 6, 7, 8))]),
    }, {'train': ['a', 'b'], 'val': ['b']})
    out = tmp_path / 'out'
    report = v2c.voc2coco(str(voc), str(out), ['train', 'val'])
    train = _json(out, 'train')
    assert [c['name'] for c in train['categories']] == ['cat', 'dog']  # sorted by default
    assert [c['id'] for c in train['categories']] == [1, 2]
    # VOC 1-based inclusive -> 0-based continuous: x1 = xmin - 1, x2 = xmax
    assert train['annotations'][0]['bbox'] == [0, 0, 10, 20]
    assert train['annotations'][1]['bbox'] == [10, 4, 54, 44]
    assert train['annotations'][1]['area'] == 54 * 44
    assert [a['id'] for a in train['annotations']] == [1, 2, 3]
    assert [im['file_name'] for im in train['images']] == ['a.jpg', 'b.jpg']
    assert all(a['iscrowd'] == 0 for a in train['annotations'])
    assert report.images == {'train': 2, 'val': 1}
    assert report.unique_images == 2 and sum(report.unique_boxes.values()) == 3
    assert not report.counts
    assert train['info']['report']['images_per_split'] == {'train': 2, 'val': 1}
    # images are reachable through OUT/JPEGImages (relative symlink) + file_name
    assert (out / 'JPEGImages' / 'a.jpg').is_file()
    assert not os.path.isabs(os.readlink(out / 'JPEGImages'))

    v2c.voc2coco(str(voc), str(out), ['train'], v2c.Options(classes=['dog', 'cat']))
    train = _json(out, 'train')
    assert [c['name'] for c in train['categories']] == ['dog', 'cat']
    assert train['annotations'][0]['category_id'] == 2


def test_malformed_boxes_are_counted_and_no_image_is_dropped(v2c, tmp_path):
    voc = make_voc(tmp_path / 'voc', {
        'good': dict(objects=[
            ('A', (10, 10, 30, 30)),
            ('A', (10, 10, 30, 30)),  # exact duplicate
            ('B', (10, 10, 30, 30)),  # same box, other class: kept
            ('A', (10, 10, 31, 31)),  # near duplicate of the first (IoU 0.91)
            ('A', (50, 40, 70, 60)),  # exceeds 64x48: clipped
            ('B', (-5, 2, 8, 9)),  # negative start: clipped
        ]),
        'allbad': dict(objects=[
            ('A', (20, 20, 20, 30)),  # zero width
            ('B', (30, 20, 25, 30)),  # negative width
            ('A', (70, 10, 90, 20)),  # entirely right of the image
            ('A', ('x', 1, 5, 5)),  # not a number
            ('B', None),  # no bndbox
        ]),
        'empty': dict(objects=[]),  # no objects at all: kept
    }, {'train': ['good', 'allbad', 'empty']})
    out = tmp_path / 'out'
    report = v2c.voc2coco(str(voc), str(out), ['train'])
    c = report.counts
    assert c['duplicate'] == 1 and c['near_duplicate'] == 1
    assert c['clipped'] == 2 and c['degenerate'] == 2
    assert c['outside_image'] == 1 and c['unparsable'] == 2
    assert c['images_without_boxes'] == 2
    coco = _json(out, 'train')
    assert [im['file_name'] for im in coco['images']] == ['good.jpg', 'allbad.jpg', 'empty.jpg']
    boxes = [a['bbox'] for a in coco['annotations']]
    assert len(boxes) == 4 and all(a['image_id'] == 1 for a in coco['annotations'])
    assert [49, 39, 15, 9] in boxes  # clipped to 64x48
    assert [0, 1, 8, 8] in boxes
    for x, y, w, h in boxes:
        assert w > 0 and h > 0 and x >= 0 and y >= 0 and x + w <= 64 and y + h <= 48
    info = coco['info']['report']
    assert info['counts']['degenerate'] == 2
    assert any('allbad.xml' in e for e in info['examples']['degenerate'])
    text = report.format()
    assert 'degenerate (skipped): 2' in text and 'clipped (kept): 2' in text
    assert 'allbad.xml A [20, 20, 20, 30]' in text

    # near-duplicate removal can be switched off
    report = v2c.voc2coco(str(voc), str(out), ['train'], v2c.Options(near_dup_iou=0))
    assert report.counts['near_duplicate'] == 0 and len(_json(out, 'train')['annotations']) == 5


def test_unknown_class_errors_listing_names_unless_skipped(v2c, tmp_path, capsys):
    voc = make_voc(tmp_path / 'voc', {
        'a': dict(objects=[('RBC', (1, 1, 9, 9)), ('rbc', (2, 2, 9, 9)), ('Cell', (3, 3, 9, 9))]),
    }, {'train': ['a']})
    out = tmp_path / 'out'
    with pytest.raises(v2c.ConversionError, match=r"rbc \(1 boxes\).*Cell|Cell.*rbc") as e:
        v2c.voc2coco(str(voc), str(out), ['train'], v2c.Options(classes=['RBC']))
    assert '--skip-unknown' in str(e.value) and 'a.xml' in str(e.value)
    assert not (out / 'annotations/instances_train.json').exists()
    assert v2c.main([str(voc), '--out', str(out), '--splits', 'train', '--classes', 'RBC']) == 1
    assert "class names not in --classes ['RBC']" in capsys.readouterr().err

    report = v2c.voc2coco(str(voc), str(out), ['train'],
                          v2c.Options(classes=['RBC'], skip_unknown=True))
    assert report.counts['unknown_class'] == 2
    assert len(_json(out, 'train')['annotations']) == 1
    assert v2c.main([str(voc), '--out', str(out), '--splits', 'train', '--skip-unknown']) == 1


def test_corrupt_or_missing_files_name_the_file_or_are_counted(v2c, tmp_path, capsys):
    voc = make_voc(tmp_path / 'voc', {
        'ok': dict(objects=[('A', (1, 1, 9, 9))]),
        'corrupt': dict(xml='<annotation><object><name>A</name>'),
        'noxml': dict(no_xml=True),
        'nojpg': dict(objects=[('A', (1, 1, 9, 9))], no_jpg=True),
    }, {'s1': ['ok', 'corrupt'], 's2': ['ok', 'noxml'], 's3': ['ok', 'nojpg'],
        'all': ['ok', 'corrupt', 'noxml', 'nojpg']})
    out = tmp_path / 'out'
    cases = {'s1': 'corrupt.xml', 's2': "'noxml' is listed in the split but its annotation",
             's3': "'nojpg' is listed in the split but its image"}
    for split, msg in cases.items():
        with pytest.raises(v2c.ConversionError, match=msg):
            v2c.voc2coco(str(voc), str(out), [split], v2c.Options(classes=['A']))
        assert v2c.main([str(voc), '--out', str(out), '--splits', split]) == 1
        err = capsys.readouterr().err
        assert err.startswith('error: ') and 'Traceback' not in err
    report = v2c.voc2coco(str(voc), str(out), ['all'],
                          v2c.Options(classes=['A'], skip_bad_files=True))
    assert report.counts['bad_file'] == 3 and report.images == {'all': 1}
    assert any('corrupt.xml' in e for e in report.examples['bad_file'])
    assert 'bad_file (skipped): 3' in report.format()
    with pytest.raises(v2c.ConversionError, match='split file not found: .*nosuch.txt'):
        v2c.voc2coco(str(voc), str(out), ['nosuch'])
    assert v2c.main([str(tmp_path / 'nowhere'), '--out', str(out)]) == 1
    assert 'does not look like a VOC dataset' in capsys.readouterr().err


def test_image_size_from_image_when_missing_or_wrong(v2c, tmp_path):
    voc = make_voc(tmp_path / 'voc', {
        'nosize': dict(size=None, img_size=(50, 40), objects=[('A', (1, 1, 60, 30))]),
        'wrong': dict(size=(640, 480), img_size=(50, 40), objects=[('A', (1, 1, 10, 10))]),
        'zero': dict(size=(0, 0), img_size=(50, 40), objects=[('A', (1, 1, 10, 10))]),
    }, {'train': ['nosize', 'wrong', 'zero']})
    out = tmp_path / 'out'
    report = v2c.voc2coco(str(voc), str(out), ['train'])
    assert report.counts['size_from_image'] == 2 and report.counts['size_mismatch'] == 1
    coco = _json(out, 'train')
    assert all((im['width'], im['height']) == (50, 40) for im in coco['images'])
    assert coco['annotations'][0]['bbox'] == [0, 0, 50, 30]  # clipped to the real width
    assert report.counts['clipped'] == 1


def test_difficult_boxes_and_shared_images_across_splits(v2c, tmp_path):
    voc = make_voc(tmp_path / 'voc', {
        'a': dict(objects=[('A', (1, 1, 9, 9), 1), ('A', (20, 20, 30, 30)),
                           ('A', (20, 20, 30, 30))]),
        'b': dict(objects=[('A', (1, 1, 9, 9))]),
    }, {'train': ['a', 'a'], 'trainval': ['a', 'b']})
    out = tmp_path / 'out'
    report = v2c.voc2coco(str(voc), str(out), ['train', 'trainval'])
    assert [a['iscrowd'] for a in _json(out, 'train')['annotations']] == [1, 0]
    assert report.counts['difficult_ignored'] == 1
    assert report.counts['duplicate'] == 1  # counted once although 'a' is in two splits
    assert report.split_counts['train']['duplicate'] == 1
    assert report.split_counts['trainval']['duplicate'] == 1
    assert report.counts['duplicate_id_in_split'] == 1 and report.images['train'] == 1
    assert report.unique_images == 2
    report = v2c.voc2coco(str(voc), str(out), ['train'], v2c.Options(difficult='skip'))
    assert report.counts['difficult_skipped'] == 1
    assert len(_json(out, 'train')['annotations']) == 1


def test_cli_report_and_no_symlink(v2c, tmp_path, capsys):
    voc = make_voc(tmp_path / 'voc', {'a': dict(objects=[('A', (1, 1, 9, 9))])},
                   {'train': ['a']})
    out = tmp_path / 'out'
    assert v2c.main([str(voc), '--out', str(out), '--splits', 'train', '--no-symlink']) == 0
    text = capsys.readouterr().out
    assert 'train: 1 images, 1 boxes (A 1)' in text and 'no malformed boxes' in text
    assert not (out / 'JPEGImages').exists()
    with pytest.raises(SystemExit) as e:
        v2c.main(['--help'])
    assert e.value.code == 0


@pytest.mark.skipif(not (BCCD / 'BCCD/Annotations').is_dir(),
                    reason=f'BCCD not found at {BCCD} (../shared/data/bccd relative to the repo)')
def test_convert_real_bccd(v2c, tmp_path):
    from pycocotools.coco import COCO
    out = tmp_path / 'bccd'
    report = v2c.voc2coco(str(BCCD / 'BCCD'), str(out), ['train', 'val', 'test', 'trainval'],
                          v2c.Options(classes=['RBC', 'WBC', 'Platelets']))
    assert report.images == {'train': 205, 'val': 87, 'test': 72, 'trainval': 292}
    assert report.unique_images == 364
    # 4,888 boxes in the XMLs: 2 zero-size and 7 near-duplicates (2-px shifted copies) removed
    assert dict(report.unique_boxes) == {'RBC': 4146, 'WBC': 372, 'Platelets': 361}
    assert report.counts['degenerate'] == 2 and report.counts['near_duplicate'] == 7
    assert report.counts['images_without_boxes'] == 0 and report.counts['bad_file'] == 0
    assert sum(report.boxes['train'].values()) + sum(report.boxes['val'].values()) == \
        sum(report.boxes['trainval'].values())
    for split in ('train', 'val', 'test', 'trainval'):
        coco = COCO(str(out / 'annotations' / f'instances_{split}.json'))
        assert [c['name'] for c in coco.loadCats(coco.getCatIds())] == ['RBC', 'WBC', 'Platelets']
        for a in coco.dataset['annotations']:
            im = coco.imgs[a['image_id']]
            x, y, w, h = a['bbox']
            assert w > 0 and h > 0 and x >= 0 and y >= 0
            assert x + w <= im['width'] and y + h <= im['height']
    assert (out / 'JPEGImages' / 'BloodImage_00000.jpg').is_file()
