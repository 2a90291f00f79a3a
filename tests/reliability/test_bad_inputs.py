"""Every bad input of issue 7 gives a clear message naming the problem and the fix, or a counted, reported skip.

In-process and small: tiny JSONs and images written per test, layers built at toy sizes.
"""
import copy
import json
import math
import re
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from PIL import Image

import condconv_det  # noqa: F401  (registers the plugin and the checkpoint allow-list)
from condconv_det.datasets import CheckedCocoDataset, DatasetCheckError, ImageLoadError, check_coco_file
from condconv_det.engine.hooks import CheckpointCompatibilityHook
from condconv_det.layers import CondConv2d
from condconv_det.models.backbones import CondConvMobileNetV2
from condconv_det.models.dense_heads import CondConvSSDHead
from condconv_det.utils import (CheckpointCheckError, check_checkpoint_matches, check_config, check_custom_imports,
                                load_checkpoint_file)
from mmdet.engine.hooks import CheckInvalidLossHook, NumClassCheckHook
from mmdet.registry import DATASETS
from reliability_utils import CONDCONV_DEMO, ROOT

CLASSES = ('circle', 'triangle', 'rectangle')
STATIC_DEMO = ROOT / 'configs/ssdlite/ssdlite_mobilenetv2_1xb16-30e_demo.py'


def _coco(num_images: int = 2, size=(32, 24)) -> dict:
    w, h = size
    images = [dict(id=i + 1, file_name=f'{i}.jpg', width=w, height=h) for i in range(num_images)]
    anns = [dict(id=i + 1, image_id=i + 1, category_id=1, bbox=[2, 3, 10, 8], area=80, iscrowd=0)
            for i in range(num_images)]
    cats = [dict(id=i + 1, name=name) for i, name in enumerate(CLASSES)]
    return dict(images=images, annotations=anns, categories=cats)


def _write(tmp_path: Path, data, images: bool = True, mode: str = 'RGB') -> Path:
    ann = tmp_path / 'ann.json'
    ann.write_text(data if isinstance(data, str) else json.dumps(data))
    if images and isinstance(data, dict):
        (tmp_path / 'img').mkdir(exist_ok=True)
        for img in data.get('images', []):
            Image.new(mode, (img['width'], img['height']), 128).save(tmp_path / 'img' / img['file_name'],
                                                                     format='PNG' if mode != 'RGB' else 'JPEG')
    return ann


def _check(tmp_path: Path, data, **kwargs):
    ann = _write(tmp_path, data)
    return check_coco_file(str(ann), str(tmp_path / 'img'), **kwargs)


def _errors(report) -> str:
    assert not report.ok, report.summary()
    return '\n'.join(report.errors)


# --- CondConv layers and backbones -------------------------------------------------------------------------------

@pytest.mark.parametrize('num_experts', [0, -2, 2.5, True])
def test_condconv_num_experts_not_a_positive_int(num_experts):
    with pytest.raises(ValueError, match=re.escape(f'num_experts must be a positive int, got num_experts='
                                                   f'{num_experts!r}')):
        CondConv2d(8, 8, 3, num_experts=num_experts)


@pytest.mark.parametrize('num_experts', [-1, 1.5])
def test_backbone_num_experts_negative_or_not_int(num_experts):
    with pytest.raises(ValueError, match=r'num_experts must be an int >= 0 \(0 = static network\)'):
        CondConvMobileNetV2(widen_factor=0.25, num_experts=num_experts)


def test_condconv_channels_not_divisible_by_groups():
    with pytest.raises(ValueError, match=r'in_channels \(6\) and out_channels \(8\) must be divisible by groups, '
                                         r'got groups=4'):
        CondConv2d(6, 8, 3, groups=4, num_experts=2)


@pytest.mark.parametrize('shape', [(2, 3), (2, 4, 1), (3, 4)])
def test_condconv_routing_weights_of_wrong_shape(shape):
    conv = CondConv2d(4, 4, 1, num_experts=4, routing_cfg=None)
    with pytest.raises(ValueError, match=r'routing_weights (must be \(B, num_experts=4\)|batch 3 != input batch 2)'):
        conv(torch.randn(2, 4, 5, 5), torch.rand(*shape))


def test_backbone_out_indices_out_of_range():
    with pytest.raises(ValueError, match=re.escape('out_indices must be a subset of range(0, 8), but got (4, 8)')):
        CondConvMobileNetV2(widen_factor=0.25, num_experts=2, out_indices=(4, 8))


def test_backbone_frozen_stages_out_of_range():
    with pytest.raises(ValueError, match=re.escape('frozen_stages must be in range(-1, 8), but got 9')):
        CondConvMobileNetV2(widen_factor=0.25, num_experts=2, frozen_stages=9)


# --- config ------------------------------------------------------------------------------------------------------

def _runner(model: torch.nn.Module, classes=CLASSES):
    dataset = types.SimpleNamespace(metainfo=dict(classes=classes))
    return types.SimpleNamespace(model=model, train_dataloader=types.SimpleNamespace(dataset=dataset),
                                 logger=None)


def test_config_num_classes_disagrees_with_dataset():
    head = CondConvSSDHead(num_classes=5, in_channels=(16, 16), num_experts=2, use_depthwise=True,
                           anchor_generator=dict(type='SSDAnchorGenerator', scale_major=False, strides=[8, 16],
                                                 ratios=[[2], [2]], min_sizes=[8, 16], max_sizes=[16, 32]))
    model = torch.nn.ModuleDict(dict(bbox_head=head))
    with pytest.raises(AssertionError, match=r'The `num_classes` \(5\) in CondConvSSDHead .* does not matches the '
                                             r'length of `classes` 3\)'):
        NumClassCheckHook().before_train_epoch(_runner(model))
    cfg = Config.fromfile(str(STATIC_DEMO))
    cfg.model.bbox_head.num_classes = 5
    errors, _ = check_config(cfg, splits=('train', ), check_images='none')
    assert any('model.bbox_head.num_classes=5 but train dataset has 3 classes' in e and
               'Fix: set model.bbox_head.num_classes=3' in e for e in errors), errors


def test_num_class_check_hook_accepts_condconv_backbone():
    # A backbone attribute `num_classes=0` made every CondConv config fail at the first epoch (fixed in 6d8cf30^).
    model = torch.nn.ModuleDict(dict(backbone=CondConvMobileNetV2(widen_factor=0.25, num_experts=2)))
    NumClassCheckHook().before_train_epoch(_runner(model))


def test_config_without_custom_imports_says_to_add_it():
    cfg = Config.fromfile(str(CONDCONV_DEMO))
    assert check_custom_imports(cfg) is None
    cfg.pop('custom_imports')
    message = check_custom_imports(cfg)
    assert 'CondConvMobileNetV2' in message and 'CondConvSSDHead' in message
    assert "add `custom_imports = dict(imports=['condconv_det'], allow_failed_imports=False)`" in message


def test_every_config_has_check_invalid_loss_hook():
    missing = []
    for path in sorted((ROOT / 'configs').glob('*/*.py')):
        if path.parent.name == '_base_':
            continue
        hooks = Config.fromfile(str(path)).get('custom_hooks', [])
        if not any(h.get('type') == 'CheckInvalidLossHook' for h in hooks):
            missing.append(path.name)
    assert not missing, f'configs without CheckInvalidLossHook: {missing}'


@pytest.mark.parametrize('bad', [math.nan, math.inf])
def test_nan_or_inf_loss_stops_training_with_a_message(bad):
    logged = []
    runner = types.SimpleNamespace(logger=types.SimpleNamespace(info=logged.append), iter=7)
    CheckInvalidLossHook(interval=1).after_train_iter(runner, 0, outputs=dict(loss=torch.tensor(1.5)))
    assert not logged
    with pytest.raises(AssertionError):  # mmdet logs the reason, then stops the run
        CheckInvalidLossHook(interval=1).after_train_iter(runner, 0, outputs=dict(loss=torch.tensor(bad)))
    assert logged == ['loss become infinite or NaN!']


# --- annotation files --------------------------------------------------------------------------------------------

def test_annotation_file_not_json(tmp_path):
    ann = _write(tmp_path, '{"images": [1, 2,')
    with pytest.raises(DatasetCheckError, match=r'ann.json: not valid JSON \(.*\)\. Fix: point ann_file at a COCO'):
        check_coco_file(str(ann))


def test_annotation_file_empty(tmp_path):
    ann = _write(tmp_path, '')
    with pytest.raises(DatasetCheckError, match=r'ann.json: annotation file is empty \(0 bytes\)\. Fix: re-run'):
        check_coco_file(str(ann))


def test_annotation_file_missing(tmp_path):
    with pytest.raises(DatasetCheckError, match=r'nope.json: annotation file not found\. Fix: check data_root'):
        check_coco_file(str(tmp_path / 'nope.json'))


@pytest.mark.parametrize('key', ['images', 'annotations', 'categories'])
def test_annotation_file_lacks_a_section(tmp_path, key):
    data = _coco()
    del data[key]
    with pytest.raises(DatasetCheckError, match=rf"missing top-level key\(s\) \['{key}'\] .* Fix: a COCO detection"):
        check_coco_file(str(_write(tmp_path, data)))


def test_annotations_list_empty_means_no_training_image(tmp_path):
    data = _coco()
    data['annotations'] = []
    assert 'no training image has a valid box' in _errors(_check(tmp_path, data))


@pytest.mark.parametrize('bbox, kind', [([2, 3, 0, 8], 'box_too_small'), ([2, 3, -4, 8], 'box_too_small'),
                                        ([2, 3, 10, 0.5], 'box_too_small'), ([40, 3, 5, 5], 'box_outside_image'),
                                        ([-20, -20, 10, 10], 'box_outside_image')])
def test_zero_negative_or_outside_boxes_are_counted_skips(tmp_path, bbox, kind):
    data = _coco(3)
    data['annotations'][1]['bbox'] = bbox
    report = _check(tmp_path, data)
    assert report.ok, report.summary()
    assert report.skips == {kind: 1} and report.notes == {'image_only_invalid_boxes': 1}
    text = report.summary()
    assert f'skipped 1 ' in text and f'bbox {bbox}' in text and '1.jpg' in text


def test_box_partly_outside_is_kept_and_noted(tmp_path):
    data = _coco()
    data['annotations'][0]['bbox'] = [25, 3, 20, 8]  # image is 32 wide
    report = _check(tmp_path, data)
    assert report.ok and not report.skips and report.notes == {'box_partly_outside': 1}


def test_unknown_category_id(tmp_path):
    data = _coco()
    data['annotations'][0]['category_id'] = 9
    assert ('unknown category ids (ann id->category_id: 1->9; categories are [1, 2, 3]). Fix: add the category'
            in _errors(_check(tmp_path, data)))


def test_config_classes_missing_from_file(tmp_path):
    message = _errors(_check(tmp_path, _coco(), classes=('circle', 'square')))
    assert "config classes ['square'] are not among the file's categories" in message
    assert 'Fix: make metainfo.classes in the config match' in message


def test_duplicate_image_ids(tmp_path):
    data = _coco(3)
    data['images'][2]['id'] = 1
    assert 'duplicate image ids 1: pycocotools keeps only the last entry' in _errors(_check(tmp_path, data))


@pytest.mark.parametrize('bbox', [[1, 2, 3], ['a', 1, 2, 3], [1, 2, float('nan'), 4], None])
def test_malformed_bbox_field(tmp_path, bbox):
    data = _coco()
    data['annotations'][0]['bbox'] = bbox
    ann = _write(tmp_path, json.dumps(data).replace('NaN', 'NaN'))
    message = _errors(check_coco_file(str(ann), str(tmp_path / 'img')))
    assert 'is not 4 finite numbers [x, y, width, height]' in message and 'Fix: write COCO boxes' in message


def test_validation_notes_name_images_and_classes_without_boxes(tmp_path):
    data = _coco(4)
    data['annotations'] = data['annotations'][:2]  # images 3 and 4 have no box; only the class 'circle' has boxes
    report = check_coco_file(str(_write(tmp_path, data)), str(tmp_path / 'img'), CLASSES, test_mode=True)
    assert report.ok and not report.skips, report.summary()
    assert report.notes == {'eval_image_without_boxes': 2, 'eval_class_without_boxes': 2}, report.summary()
    text = report.summary()
    assert ("note: 2 classes without any box in this validation/test file (left out of COCO's mAP, which averages "
            "over the classes present; their per-class AP is nan) (e.g. 'triangle'; 'rectangle')") in text
    assert 'note: 2 validation/test images without any box (evaluated as background' in text
    data['annotations'] = []
    report = check_coco_file(str(_write(tmp_path, data, images=False)), test_mode=True)
    assert report.ok and report.notes == {'eval_image_without_boxes': 4, 'eval_file_without_boxes': 1}
    assert 'validation/test files without a single box (COCO mAP is -1, i.e. undefined' in report.summary()


# --- images ------------------------------------------------------------------------------------------------------

def test_missing_image_file(tmp_path):
    data = _coco()
    ann = _write(tmp_path, data)
    (tmp_path / 'img/1.jpg').unlink()
    message = _errors(check_coco_file(str(ann), str(tmp_path / 'img')))
    assert '1.jpg not found. Fix: check data_prefix.img' in message


@pytest.mark.parametrize('damage', ['truncate', 'garbage'])
def test_truncated_or_corrupt_image(tmp_path, damage):
    data = _coco(size=(64, 48))
    ann = _write(tmp_path, data)
    path = tmp_path / 'img/0.jpg'
    Image.fromarray(np.random.RandomState(0).randint(0, 255, (48, 64, 3), np.uint8)).save(path, quality=95)
    raw = path.read_bytes()
    path.write_bytes(raw[:len(raw) // 2] if damage == 'truncate' else b'not an image at all' * 10)
    message = _errors(check_coco_file(str(ann), str(tmp_path / 'img')))
    assert '0.jpg is corrupt or truncated' in message and 'Fix: re-copy or re-export the image' in message


def test_image_size_differs_from_annotation(tmp_path):
    data = _coco()
    ann = _write(tmp_path, data)
    Image.new('RGB', (40, 24)).save(tmp_path / 'img/1.jpg')
    message = _errors(check_coco_file(str(ann), str(tmp_path / 'img')))
    assert '1.jpg is 40x24 but the annotation says 32x24' in message and 'Fix: write the real width/height' in message


@pytest.mark.parametrize('mode', ['L', 'RGBA'])
def test_grayscale_or_rgba_image_is_noted_and_loads_as_3_channels(tmp_path, mode):
    data = _coco()
    for img in data['images']:
        img['file_name'] = img['file_name'].replace('.jpg', '.png')
    ann = _write(tmp_path, data, mode=mode)
    report = check_coco_file(str(ann), str(tmp_path / 'img'))
    assert report.ok and report.notes == {'image_not_rgb': 2}, report.summary()
    assert f'0.png ({mode})' in report.summary() and 'converts them to 3-channel BGR' in report.summary()
    dataset = CheckedCocoDataset(ann_file=str(ann), data_prefix=dict(img=str(tmp_path / 'img')),
                                 metainfo=dict(classes=CLASSES), pipeline=[dict(type='LoadImageFromFile')])
    assert dataset[0]['img'].shape == (24, 32, 3)


# --- the validating dataset -------------------------------------------------------------------------------------

def test_checked_dataset_refuses_bad_file_at_build_and_counts_skips(tmp_path):
    data = _coco(3)
    data['annotations'][1]['bbox'] = [2, 3, 0, 8]
    ann = _write(tmp_path, data)
    cfg = dict(type='CheckedCocoDataset', ann_file=str(ann), data_prefix=dict(img=str(tmp_path / 'img')),
               metainfo=dict(classes=CLASSES), filter_cfg=dict(filter_empty_gt=True), pipeline=[])
    dataset = DATASETS.build(cfg)
    assert len(dataset) == 3  # the image whose only box is zero-width stays, as background: the report says so
    assert dataset.check_report.skips == {'box_too_small': 1}
    assert dataset.check_report.notes == {'image_only_invalid_boxes': 1}
    assert sum(len(dataset.get_data_info(i)['instances']) for i in range(3)) == 2  # what mmdet kept
    data['annotations'].pop(0)
    _write(tmp_path, data, images=False)
    assert len(DATASETS.build(cfg)) == 2  # no annotation at all: dropped by filter_empty_gt, and counted
    bad = copy.deepcopy(data)
    bad['images'][2]['id'] = 1
    _write(tmp_path, bad, images=False)
    with pytest.raises(DatasetCheckError, match='duplicate image ids 1: pycocotools keeps only the last'):
        DATASETS.build(cfg)


def test_checked_dataset_names_the_image_that_fails_to_load_mid_run(tmp_path):
    ann = _write(tmp_path, _coco())
    dataset = CheckedCocoDataset(ann_file=str(ann), data_prefix=dict(img=str(tmp_path / 'img')),
                                 metainfo=dict(classes=CLASSES), pipeline=[dict(type='LoadImageFromFile')])
    (tmp_path / 'img/1.jpg').write_bytes(b'broken after the check')
    with pytest.raises(ImageLoadError, match=r'loading sample 1 \(.*1\.jpg\) .* failed: .*Fix: run `python '
                                             r'tools/misc/check_dataset.py CONFIG --check-images decode`'):
        dataset[1]


def test_check_dataset_cli_reports_and_fails(tmp_path, capsys, load_tool):
    cli = load_tool('tools/misc/check_dataset.py')
    data = _coco(3)
    data['annotations'][0]['bbox'] = [2, 3, 0, 8]
    ann = _write(tmp_path, data)
    assert cli.main([str(ann), '--img-dir', str(tmp_path / 'img')]) == 0
    assert 'skipped 1 boxes with width or height < 1 pixel' in capsys.readouterr().out
    data['annotations'][1]['category_id'] = 7
    _write(tmp_path, data, images=False)
    assert cli.main([str(ann), '--img-dir', str(tmp_path / 'img')]) == 1
    out = capsys.readouterr().out
    assert 'ERROR annotations have unknown category ids' in out and '1 error(s): fix them before training.' in out


# --- VOC conversion ---------------------------------------------------------------------------------------------

def test_voc_xml_with_malformed_box_is_reported_and_skipped(tmp_path, load_tool):
    voc2coco = load_tool('tools/dataset_converters/voc2coco.py')
    root = tmp_path / 'VOC'
    for sub in ('Annotations', 'JPEGImages', 'ImageSets/Main'):
        (root / sub).mkdir(parents=True)
    Image.new('RGB', (64, 48)).save(root / 'JPEGImages/a.jpg')
    (root / 'ImageSets/Main/train.txt').write_text('a\n')
    (root / 'Annotations/a.xml').write_text(
        '<annotation><filename>a.jpg</filename><size><width>64</width><height>48</height><depth>3</depth></size>'
        '<object><name>A</name><bndbox><xmin>5</xmin><ymin>5</ymin><xmax>20</xmax><ymax>20</ymax></bndbox></object>'
        '<object><name>A</name><bndbox><xmin>x</xmin><ymin>5</ymin><xmax>20</xmax><ymax>20</ymax></bndbox></object>'
        '</annotation>')
    report = voc2coco.voc2coco(str(root), str(tmp_path / 'out'), ['train'], symlink=False)
    assert report.counts['unparsable'] == 1
    assert 'a.xml' in report.format()
    coco = json.loads((tmp_path / 'out/annotations/instances_train.json').read_text())
    assert len(coco['annotations']) == 1 and len(coco['images']) == 1


# --- checkpoints -------------------------------------------------------------------------------------------------

def test_checkpoint_of_another_architecture_lists_mismatched_keys(tmp_path):
    static = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.Conv2d(8, 4, 1))
    path = tmp_path / 'static.pth'
    torch.save(dict(state_dict=static.state_dict(), meta=dict(epoch=1)), path)
    cond = torch.nn.Sequential(CondConv2d(3, 8, 3, num_experts=2), torch.nn.Conv2d(8, 4, 1))
    with pytest.raises(CheckpointCheckError) as error:
        check_checkpoint_matches(cond, str(path))
    message = str(error.value)
    assert 'does not match Sequential' in message
    assert 'size mismatch (2): 0.weight: checkpoint (8, 3, 3, 3) vs model (2, 8, 3, 3, 3), 0.bias' in message
    assert 'missing in checkpoint (2): 0.routing.fc.weight, 0.routing.fc.bias' in message
    assert 'Fix: use the checkpoint of this config' in message
    check_checkpoint_matches(cond, str(path), ignore=[r'^0\.'])  # re-initialising layer 0 on purpose


@pytest.mark.parametrize('content, reason', [(b'', 'is empty'), (b'hello, I am a text file',
                                                                 'is not a PyTorch checkpoint'),
                                             (None, 'holds a list, not a checkpoint dict')])
def test_file_that_is_not_a_checkpoint(tmp_path, content, reason):
    path = tmp_path / 'model.pth'
    if content is None:
        torch.save([1, 2, 3], path)
    else:
        path.write_bytes(content)
    with pytest.raises(CheckpointCheckError, match=reason):
        load_checkpoint_file(str(path))


def test_truncated_checkpoint(tmp_path):
    path = tmp_path / 'cut.pth'
    torch.save(dict(state_dict=torch.nn.Linear(64, 64).state_dict()), path)
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(CheckpointCheckError, match='is not a PyTorch checkpoint or is truncated'):
        load_checkpoint_file(str(path))


class _RunsACommand:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        import os
        return os.system, (f'touch {self.marker}', )


def test_checkpoint_with_code_is_refused_with_a_clear_message(tmp_path):
    # torch's refusal itself is pinned in tests/test_compat.py; this pins the message of load_checkpoint_file.
    path, marker = tmp_path / 'evil.pth', tmp_path / 'pwned'
    torch.save(dict(state_dict={}, meta=_RunsACommand(marker)), path)
    with pytest.raises(CheckpointCheckError, match=r'was refused: it contains objects outside the weights_only '
                                                   r'allow-list .*GLOBAL posix.system'):
        load_checkpoint_file(str(path))
    assert not marker.exists()


def test_checkpoint_compatibility_hook_stops_load_from_before_training(tmp_path):
    path = tmp_path / 'other.pth'
    torch.save(dict(state_dict=torch.nn.Linear(4, 2).state_dict()), path)
    runner = types.SimpleNamespace(_load_from=str(path), _resume=False, model=torch.nn.Linear(4, 3))
    with pytest.raises(CheckpointCheckError, match=r'size mismatch \(2\): weight: checkpoint \(2, 4\) vs model '
                                                   r'\(3, 4\), bias'):
        CheckpointCompatibilityHook().before_run(runner)
    CheckpointCompatibilityHook(ignore=['weight', 'bias']).before_run(runner)
    runner._load_from = str(tmp_path / 'missing.pth')
    with pytest.raises(CheckpointCheckError, match='missing.pth not found'):
        CheckpointCompatibilityHook().before_run(runner)
