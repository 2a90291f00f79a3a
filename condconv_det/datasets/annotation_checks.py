"""Validate a COCO detection annotation file (and its images) before training starts.

A problem is either an **error** (training would crash later or learn from wrong labels: the check raises
:class:`DatasetCheckError` naming the file, what is wrong and how to fix it) or a **counted skip** (mmdet's
``CocoDataset`` drops the box or image silently; here it is counted and reported). The skip rules mirror
``mmdet.datasets.CocoDataset.parse_data_info`` / ``filter_data`` (mmdet 3.3), so the counts are what training sees.
The outcome is a :class:`~condconv_det.datasets.check_report.CheckReport`.
"""
import json
import math
import os.path as osp
from collections import Counter
from typing import Any, Dict, Iterable, Optional, Sequence

from .check_report import MAX_EXAMPLES, CheckReport, DatasetCheckError

CHECK_IMAGE_MODES = ('none', 'header', 'decode')


def _examples(items: Iterable[Any]) -> str:
    items = list(items)
    text = ', '.join(str(item) for item in items[:MAX_EXAMPLES])
    return text + (f', ... ({len(items)} in all)' if len(items) > MAX_EXAMPLES else '')


def load_coco_json(ann_file: str) -> Dict[str, Any]:
    """Read ``ann_file`` as a COCO detection JSON; :class:`DatasetCheckError` for a missing, empty or non-JSON file
    or one without the ``images``/``annotations``/``categories`` lists."""
    if not osp.isfile(ann_file):
        raise DatasetCheckError(f'{ann_file}: annotation file not found. Fix: check data_root + ann_file in the '
                                'config (paths are relative to the working directory), or generate/convert the data '
                                'first (tools/misc/make_demo_dataset.py, tools/dataset_converters/voc2coco.py).')
    with open(ann_file, 'rb') as f:
        raw = f.read()
    if not raw.strip():
        raise DatasetCheckError(f'{ann_file}: annotation file is empty ({len(raw)} bytes). Fix: re-run the converter '
                                'that wrote it (an interrupted write leaves an empty file).')
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DatasetCheckError(f'{ann_file}: not valid JSON ({error}). Fix: point ann_file at a COCO-format '
                                '.json file; if it is one, it is truncated or corrupt: re-create it.') from None
    if not isinstance(data, dict):
        raise DatasetCheckError(f'{ann_file}: top level is a JSON {type(data).__name__}, a COCO annotation file is '
                                'an object with "images", "annotations" and "categories". Fix: convert it to COCO.')
    missing = [key for key in ('images', 'annotations', 'categories') if key not in data]
    if missing:
        raise DatasetCheckError(f'{ann_file}: missing top-level key(s) {missing} (has {sorted(data)}). Fix: a COCO '
                                'detection file needs "images", "annotations" and "categories" lists; convert it with '
                                'tools/dataset_converters/voc2coco.py or add the missing lists.')
    wrong = [key for key in ('images', 'annotations', 'categories') if not isinstance(data[key], list)]
    if wrong:
        raise DatasetCheckError(f'{ann_file}: {wrong} must be JSON lists. Fix: re-export the file in COCO format.')
    return data


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_categories(data: dict, report: CheckReport, classes: Optional[Sequence[str]]) -> Dict[int, str]:
    if not data['categories']:
        report.error('"categories" is empty. Fix: list every class as {"id": int, "name": str}.')
    cat_names: Dict[int, str] = {}
    duplicates = []
    for cat in data['categories']:
        if not isinstance(cat, dict) or 'id' not in cat or 'name' not in cat:
            report.error(f'category {cat!r} lacks "id" or "name". Fix: each category is {{"id": int, "name": str}}.')
            continue
        if cat['id'] in cat_names:
            duplicates.append(cat['id'])
        cat_names[cat['id']] = cat['name']
    if duplicates:
        report.error(f'duplicate category ids {_examples(duplicates)}. Fix: give every category a unique id.')
    if classes is not None:
        names = set(cat_names.values())
        absent = [name for name in classes if name not in names]
        if absent:
            report.error(f"config classes {absent} are not among the file's categories {sorted(names)}: mmdet would "
                         'silently shift the labels of the remaining classes. Fix: make metainfo.classes in the config '
                         'match the category names in the file (and num_classes in the head).')
    return cat_names


def _check_images_table(data: dict, report: CheckReport) -> Dict[Any, dict]:
    if not data['images']:
        report.error('"images" is empty: nothing to train or test on. Fix: check the converter input.')
    images: Dict[Any, dict] = {}
    duplicates = []
    for img in data['images']:
        if not isinstance(img, dict) or any(key not in img for key in ('id', 'file_name', 'width', 'height')):
            report.error(f'image entry {str(img)[:120]} lacks one of "id", "file_name", "width", "height". '
                         'Fix: write all four for every image.')
            continue
        if not all(isinstance(img[k], int) and not isinstance(img[k], bool) and img[k] > 0
                   for k in ('width', 'height')):
            report.error(f'image id {img["id"]} ({img["file_name"]}): width/height must be positive ints, got '
                         f'{img["width"]!r}x{img["height"]!r}. Fix: write the real image size.')
            continue
        if img['id'] in images:
            duplicates.append(img['id'])
        images[img['id']] = img
    if duplicates:
        report.error(f'duplicate image ids {_examples(duplicates)}: pycocotools keeps only the last entry, so '
                     'annotations attach to the wrong image. Fix: give every image a unique id.')
    report.num_images = len(images)
    return images


def _check_boxes(data: dict, report: CheckReport, images: Dict[Any, dict], cat_names: Dict[int, str],
                 classes: Optional[Sequence[str]], test_mode: bool) -> None:
    unknown_image, unknown_cat, bad_bbox, no_area, dup_ids = [], [], [], [], []
    wanted = None if classes is None else set(classes)
    with_valid_box, with_any_box = set(), set()
    boxes_per_class: Counter = Counter()
    seen_ids = set()
    for ann in data['annotations']:
        if not isinstance(ann, dict):
            bad_bbox.append(repr(ann)[:40])
            continue
        ann_id = ann.get('id')
        if ann_id in seen_ids:
            dup_ids.append(ann_id)
        seen_ids.add(ann_id)
        img = images.get(ann.get('image_id'))
        if img is None:
            unknown_image.append(f'{ann_id}->{ann.get("image_id")}')
            continue
        if ann.get('category_id') not in cat_names:
            unknown_cat.append(f'{ann_id}->{ann.get("category_id")}')
            continue
        bbox = ann.get('bbox')
        if not isinstance(bbox, (list, tuple)) or len(bbox) != 4 or not all(_is_number(v) for v in bbox):
            bad_bbox.append(f'{ann_id}: {bbox!r}')
            continue
        if not _is_number(ann.get('area')):
            no_area.append(ann_id)
            continue
        if wanted is None or cat_names[ann['category_id']] in wanted:
            with_any_box.add(ann['image_id'])  # mmdet's filter_empty_gt looks at this, not at box validity
            boxes_per_class[cat_names[ann['category_id']]] += 1
        where = f'ann {ann_id} in {img["file_name"]}: bbox {bbox}'
        x, y, w, h = bbox
        inter_w = max(0, min(x + w, img['width']) - max(x, 0))
        inter_h = max(0, min(y + h, img['height']) - max(y, 0))
        if ann.get('ignore', False):
            report.skip('box_ignore_flag', where)
        elif w < 1 or h < 1:
            report.skip('box_too_small', where)
        elif inter_w * inter_h == 0:
            report.skip('box_outside_image', f'{where}, image {img["width"]}x{img["height"]}')
        elif ann['area'] <= 0:
            report.skip('box_nonpositive_area', f'{where}, area {ann["area"]}')
        elif wanted is not None and cat_names[ann['category_id']] not in wanted:
            report.skip('box_category_not_in_classes', f'{where}, category {cat_names[ann["category_id"]]!r}')
        else:
            if x < 0 or y < 0 or x + w > img['width'] or y + h > img['height']:
                report.note('box_partly_outside', f'{where}, image {img["width"]}x{img["height"]}')
            if ann.get('iscrowd', 0):
                report.note('box_crowd', where)
            else:
                with_valid_box.add(ann['image_id'])
    report.num_annotations = len(data['annotations'])
    if unknown_image:
        report.error(f'annotations refer to image ids not in "images" (ann id->image_id: {_examples(unknown_image)}). '
                     'Fix: add the images or remove those annotations.')
    if unknown_cat:
        report.error(f'annotations have unknown category ids (ann id->category_id: {_examples(unknown_cat)}; '
                     f'categories are {sorted(cat_names)}). Fix: add the category to "categories" or correct the '
                     'category_id.')
    if bad_bbox:
        report.error(f'annotations whose "bbox" is not 4 finite numbers [x, y, width, height] '
                     f'({_examples(bad_bbox)}). Fix: write COCO boxes as [x, y, w, h] in pixels.')
    if no_area:
        report.error(f'annotations without a numeric "area" (ann ids {_examples(no_area)}); mmdet reads it. '
                     'Fix: add "area": w * h.')
    if dup_ids:
        report.error(f'duplicate annotation ids {_examples(dup_ids)}. Fix: give every annotation a unique id.')
    if test_mode and data['annotations'] and not report.errors:
        for name in (classes if classes is not None else cat_names.values()):
            if not boxes_per_class[name]:
                report.note('eval_class_without_boxes', repr(name))
    for img_id, img in images.items():
        where = f'{img["file_name"]} (id {img_id})'
        if img_id not in with_any_box and test_mode:
            report.note('eval_image_without_boxes', where)
        elif img_id not in with_any_box:
            report.skip('image_without_boxes', where)
        elif img_id not in with_valid_box and not test_mode:
            report.note('image_only_invalid_boxes', where)
    if test_mode and images and not with_any_box:
        report.note('eval_file_without_boxes', osp.basename(report.ann_file))
    if not test_mode and images and not with_valid_box and not report.errors:
        report.error('no training image has a valid box, so the training set would be empty. Fix: check '
                     '"annotations" (is it empty?) and the boxes reported as skipped above.')


def _image_is_truncated(path: str) -> bool:
    """Cheap end-of-file test: JPEG must end with the EOI marker, PNG with the IEND chunk (None-decoders: False)."""
    with open(path, 'rb') as f:
        head = f.read(8)
        f.seek(0, 2)
        size = f.tell()
        f.seek(max(0, size - 64))
        tail = f.read()
    if head.startswith(b'\xff\xd8'):
        return b'\xff\xd9' not in tail
    if head.startswith(b'\x89PNG'):
        return b'IEND' not in tail
    return False


def check_image_file(path: str, width: int, height: int, report: CheckReport, mode: str = 'header') -> None:
    """Check one image: exists, decodable (``header``: header + end-of-file marker; ``decode``: full decode),
    its size equals the annotation's ``width x height``; note grayscale/RGBA images."""
    from PIL import Image
    if not osp.isfile(path):
        report.error(f'image file {path} not found. Fix: check data_prefix.img in the config, or remove the image '
                     'and its annotations from the JSON.')
        return
    try:
        with Image.open(path) as img:
            size, img_mode = img.size, img.mode
            if mode == 'decode' or _image_is_truncated(path):
                img.load()
    except Exception as error:  # PIL raises many types for broken files
        report.error(f'image file {path} is corrupt or truncated ({type(error).__name__}: {error}). Fix: re-copy or '
                     're-export the image, or remove it and its annotations from the JSON.')
        return
    if size != (width, height):
        report.error(f'image file {path} is {size[0]}x{size[1]} but the annotation says {width}x{height}: its boxes '
                     'would be wrong. Fix: write the real width/height (and boxes) into the JSON, or restore the '
                     'original image.')
    if img_mode not in ('RGB', 'YCbCr'):
        report.note('image_not_rgb', f'{osp.basename(path)} ({img_mode})')


def check_coco_annotations(data: dict, ann_file: str, img_dir: Optional[str] = None,
                           classes: Optional[Sequence[str]] = None, check_images: str = 'header',
                           test_mode: bool = False) -> CheckReport:
    """Check a loaded COCO dict (see :func:`load_coco_json`); images too when ``img_dir`` is given."""
    if check_images not in CHECK_IMAGE_MODES:
        raise ValueError(f'check_images must be one of {CHECK_IMAGE_MODES}, got {check_images!r}')
    report = CheckReport(ann_file)
    cat_names = _check_categories(data, report, classes)
    images = _check_images_table(data, report)
    _check_boxes(data, report, images, cat_names, classes, test_mode)
    if img_dir is not None and check_images != 'none':
        for img in images.values():
            check_image_file(osp.join(img_dir, img['file_name']), img['width'], img['height'], report, check_images)
    return report


def check_coco_file(ann_file: str, img_dir: Optional[str] = None, classes: Optional[Sequence[str]] = None,
                    check_images: str = 'header', test_mode: bool = False) -> CheckReport:
    """Load and check ``ann_file``; file-level problems raise :class:`DatasetCheckError` at once, the rest are in
    the report (call ``report.raise_if_errors()``)."""
    return check_coco_annotations(load_coco_json(ann_file), ann_file, img_dir, classes, check_images, test_mode)
