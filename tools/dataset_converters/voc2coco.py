#!/usr/bin/env python
"""Convert a Pascal VOC dataset (e.g. BCCD) to COCO-format detection JSON files.

Reads ``ROOT/Annotations/<id>.xml``, ``ROOT/JPEGImages/<id>.jpg`` and the split lists
``ROOT/ImageSets/Main/<split>.txt``; writes ``OUT/annotations/instances_<split>.json``.

Image layout: ``file_name`` is the bare image name (``BloodImage_00000.jpg``) and ``OUT/JPEGImages``
is made a relative symlink to ``ROOT/JPEGImages``, so the mmdet dataset config mirrors mmdet's COCO
configs exactly::

    data_root='data/bccd/', ann_file='annotations/instances_train.json',
    data_prefix=dict(img='JPEGImages/')

(With ``--no-symlink`` no link is made; then point ``data_prefix.img`` at ``ROOT/JPEGImages/``.)

Coordinates: VOC boxes are 1-based inclusive pixel indices (``xmin=1, xmax=W`` spans the image), so
``x1 = xmin - 1, x2 = xmax`` (as detectron2 does); ``--zero-based`` keeps them as they are.
COCO boxes are ``[x1, y1, x2 - x1, y2 - y1]`` with ``area = w * h``.

Malformed input is counted, reported and (where the box alone is bad) skipped; an image is never
dropped silently:

* ``degenerate``: ``xmax <= xmin`` or ``ymax <= ymin`` in the XML (zero or negative size): skipped.
* ``unparsable``: missing ``bndbox`` / non-numeric coordinate: skipped.
* ``clipped``: box exceeds the image but overlaps it: clipped to the image and kept.
* ``outside_image``: nothing left (< ``--min-size`` px) after clipping: skipped.
* ``duplicate``: same class and identical box as an earlier one in the image: dropped.
* ``near_duplicate``: same class and IoU >= ``--near-dup-iou`` (default 0.9) with a kept box:
  dropped (BCCD has a few boxes repeated with a 2-px shift); ``--near-dup-iou 0`` disables it.
* ``unknown_class``: a name outside ``--classes``: error listing them, or skipped with
  ``--skip-unknown``.
* ``difficult``: VOC ``difficult=1`` boxes are kept with ``iscrowd=1`` (ignored by training and COCO
  eval, VOC's meaning); ``--difficult keep|skip`` changes that.
* Missing/corrupt XML or image, or an id listed in a split with no XML/JPEG: error naming the file,
  or with ``--skip-bad-files`` the image is left out and counted (``bad_file``).
* Image size missing in the XML, or different from the image: the image's own size is used
  (``size_from_image`` / ``size_mismatch``).
* An image whose every box was skipped is kept with zero annotations (``images_without_boxes``).

Example (BCCD, class order RBC, WBC, Platelets)::

    python tools/dataset_converters/voc2coco.py ../shared/data/bccd/BCCD --out data/bccd \
        --classes RBC WBC Platelets --splits train val test trainval
"""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp
import sys
import xml.etree.ElementTree as ET
from collections import Counter, OrderedDict, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # this checkout, even without `pip install -e`
from condconv_det.datasets.check_report import count_example  # noqa: E402

VERSION = '1.0'
BOX_REASONS = ('degenerate', 'unparsable', 'outside_image', 'duplicate', 'near_duplicate',
               'unknown_class', 'difficult_skipped')
NOTE_REASONS = ('clipped', 'difficult_ignored', 'size_from_image', 'size_mismatch',
                'duplicate_id_in_split', 'bad_file', 'images_without_boxes')


class ConversionError(Exception):
    """A problem in the input that stops the conversion; the message names the file."""


Event = Tuple[str, str]  # (reason, example text)


@dataclass
class Report:
    """Per-split and overall (unique images) counts of every skip / fix, with first examples (counted as the dataset
    check counts its skips: :func:`condconv_det.datasets.check_report.count_example`)."""

    images: Dict[str, int] = field(default_factory=dict)
    boxes: Dict[str, Dict[str, int]] = field(default_factory=dict)
    split_counts: Dict[str, Counter] = field(default_factory=dict)
    counts: Counter = field(default_factory=Counter)  # over unique images of all splits
    examples: Dict[str, List[str]] = field(default_factory=lambda: defaultdict(list))
    unknown_names: Counter = field(default_factory=Counter)
    unique_images: int = 0
    unique_boxes: Counter = field(default_factory=Counter)

    def add_unique(self, events: Sequence[Event]) -> None:
        """Add the events of an image seen for the first time (in any split)."""
        for reason, example in events:
            count_example(self.counts, self.examples, reason, example)

    def to_dict(self) -> Dict[str, Any]:
        """JSON-able form (written into each output's ``info.report``)."""
        return dict(
            images_per_split=dict(self.images),
            boxes_per_split={s: dict(c) for s, c in self.boxes.items()},
            counts_per_split={s: dict(sorted(c.items())) for s, c in self.split_counts.items()},
            unique_images=self.unique_images, unique_boxes=dict(self.unique_boxes),
            counts={k: self.counts[k] for k in sorted(self.counts)},
            examples={k: list(v) for k, v in sorted(self.examples.items())})

    def format(self) -> str:
        """Human-readable report."""
        lines = ['== voc2coco report ==']
        for split, n in self.images.items():
            per_cls = ', '.join(f'{k} {v}' for k, v in self.boxes[split].items())
            issues = ', '.join(f'{k} {v}' for k, v in sorted(self.split_counts[split].items()))
            lines.append(f'{split:>10}: {n} images, {sum(self.boxes[split].values())} boxes '
                         f'({per_cls}){"; " + issues if issues else ""}')
        per_cls = ', '.join(f'{k} {v}' for k, v in self.unique_boxes.items())
        lines.append(f'{"all":>10}: {self.unique_images} unique images, '
                     f'{sum(self.unique_boxes.values())} boxes ({per_cls})')
        shown = [r for r in BOX_REASONS + NOTE_REASONS if self.counts[r]]
        if not shown:
            lines.append('no malformed boxes or files found')
        else:
            lines.append('issues over the unique images (box coordinates as in the XML):')
        for reason in shown:
            what = 'skipped' if reason in BOX_REASONS + ('bad_file', ) else 'kept'
            lines.append(f'  {reason} ({what}): {self.counts[reason]}')
            for ex in self.examples[reason]:
                lines.append(f'      {ex}')
        return '\n'.join(lines)


@dataclass
class Options:
    """Conversion options (see the CLI help)."""

    classes: Optional[List[str]] = None
    skip_unknown: bool = False
    skip_bad_files: bool = False
    zero_based: bool = False
    min_size: float = 1.0
    near_dup_iou: float = 0.9
    difficult: str = 'ignore'
    img_ext: str = '.jpg'


def _image_size(path: str) -> Tuple[int, int]:
    """(width, height) from the image header, without decoding the pixels."""
    from PIL import Image
    try:
        with Image.open(path) as im:
            return im.size
    except Exception as e:  # noqa: BLE001  PIL raises many types
        raise ConversionError(f'cannot read image {path}: {type(e).__name__}: {e}') from None


def _to_float(text: Optional[str]) -> float:
    if text is None:
        raise ValueError('missing')
    return float(text.strip())


def _iou(a: Sequence[float], b: Sequence[float]) -> float:
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _fmt_box(v: Sequence[Any]) -> str:
    return '[' + ', '.join(f'{x:g}' if isinstance(x, float) else str(x) for x in v) + ']'


def parse_voc_xml(xml_path: str) -> Dict[str, Any]:
    """Parse one VOC XML into ``{filename, width, height, objects: [{name, raw, difficult}]}``.

    ``raw`` is the (xmin, ymin, xmax, ymax) text tuple (or None when ``bndbox`` is missing);
    width/height are None when absent or not positive. Raises ConversionError on a corrupt file.
    """
    try:
        root = ET.parse(xml_path).getroot()
    except (ET.ParseError, OSError) as e:
        raise ConversionError(f'corrupt or unreadable XML {xml_path}: {e}') from None
    if root.tag != 'annotation':
        raise ConversionError(f'{xml_path}: root element is <{root.tag}>, expected <annotation>')

    def dim(tag: str) -> Optional[int]:
        try:
            v = int(float(root.findtext(f'size/{tag}', '').strip()))
        except ValueError:
            return None
        return v if v > 0 else None

    objects = []
    for obj in root.findall('object'):
        name = (obj.findtext('name') or '').strip()
        bnd = obj.find('bndbox')
        raw = None if bnd is None else tuple(
            bnd.findtext(k) for k in ('xmin', 'ymin', 'xmax', 'ymax'))
        diff = (obj.findtext('difficult') or '0').strip()
        objects.append(dict(name=name, raw=raw, difficult=diff in ('1', 'true', 'True')))
    return dict(filename=(root.findtext('filename') or '').strip(), width=dim('width'),
                height=dim('height'), objects=objects)


def read_split(root: str, split: str) -> List[str]:
    """Image ids listed in ``ImageSets/Main/<split>.txt`` (first token per line, blanks skipped)."""
    path = osp.join(root, 'ImageSets', 'Main', f'{split}.txt')
    if not osp.isfile(path):
        raise ConversionError(f'split file not found: {path}')
    with open(path, encoding='utf-8') as f:
        return [line.split()[0] for line in f if line.strip()]


def collect_class_names(root: str, ids: Sequence[str]) -> List[str]:
    """Sorted set of object names found in the XMLs of ``ids`` (unreadable XMLs are ignored here)."""
    names = set()
    for img_id in ids:
        try:
            ann = parse_voc_xml(osp.join(root, 'Annotations', f'{img_id}.xml'))
        except ConversionError:
            continue
        names.update(o['name'] for o in ann['objects'] if o['name'])
    return sorted(names)


def convert_image(root: str, img_id: str, classes: Sequence[str], opts: Options
                  ) -> Tuple[Dict[str, Any], List[Dict[str, Any]], List[Event]]:
    """Convert one image: returns (image record, annotations, events); no ids assigned yet.

    Raises ConversionError naming the file when the XML or image is missing or corrupt.
    """
    events: List[Event] = []

    def report_add(reason: str, example: str) -> None:
        events.append((reason, example))

    xml_path = osp.join(root, 'Annotations', f'{img_id}.xml')
    img_dir = osp.join(root, 'JPEGImages')
    img_name = f'{img_id}{opts.img_ext}'
    if not osp.isfile(xml_path):
        raise ConversionError(f'image id {img_id!r} is listed in the split but its annotation '
                              f'{xml_path} does not exist')
    ann = parse_voc_xml(xml_path)
    if not osp.isfile(osp.join(img_dir, img_name)):
        if ann['filename'] and osp.isfile(osp.join(img_dir, ann['filename'])):
            img_name = ann['filename']
        else:
            raise ConversionError(f'image id {img_id!r} is listed in the split but its image '
                                  f'{osp.join(img_dir, img_name)} does not exist')
    width, height = _image_size(osp.join(img_dir, img_name))
    if ann['width'] is None or ann['height'] is None:
        report_add('size_from_image', f'{xml_path}: size read from image ({width}x{height})')
    elif (ann['width'], ann['height']) != (width, height):
        report_add('size_mismatch', f'{xml_path}: XML says {ann["width"]}x{ann["height"]}, '
                   f'image is {width}x{height}; using the image size')

    offset = 0.0 if opts.zero_based else 1.0
    kept: List[Tuple[str, Tuple[float, ...], Tuple[Any, ...]]] = []  # (name, box, raw)
    anns = []
    for obj in ann['objects']:
        name, raw = obj['name'], obj['raw']
        where = f'{osp.basename(xml_path)} {name or "<no name>"} {_fmt_box(raw or ())}'
        if name not in classes:
            report_add('unknown_class', where)
            events.append(('unknown_name', name))
            continue
        try:
            if raw is None:
                raise ValueError('no bndbox')
            xmin, ymin, xmax, ymax = (_to_float(t) for t in raw)
        except ValueError:
            report_add('unparsable', where)
            continue
        if xmax <= xmin or ymax <= ymin:
            report_add('degenerate', where)
            continue
        box = (xmin - offset, ymin - offset, xmax, ymax)
        clipped = (max(box[0], 0.0), max(box[1], 0.0), min(box[2], float(width)),
                   min(box[3], float(height)))
        if clipped[2] - clipped[0] < opts.min_size or clipped[3] - clipped[1] < opts.min_size:
            report_add('outside_image', f'{where} (image {width}x{height})')
            continue
        if clipped != box:
            report_add('clipped', f'{where} -> {_fmt_box(clipped)} (image {width}x{height})')
            box = clipped
        if any(n == name and b == box for n, b, _ in kept):
            report_add('duplicate', where)
            continue
        if opts.near_dup_iou > 0:
            twin = next(((b, r) for n, b, r in kept
                         if n == name and _iou(b, box) >= opts.near_dup_iou), None)
            if twin is not None:
                report_add('near_duplicate', f'{where} ~ kept {_fmt_box(twin[1])} '
                           f'(IoU {_iou(twin[0], box):.2f})')
                continue
        iscrowd = 0
        if obj['difficult']:
            if opts.difficult == 'skip':
                report_add('difficult_skipped', where)
                continue
            if opts.difficult == 'ignore':
                report_add('difficult_ignored', where)
                iscrowd = 1
        kept.append((name, box, raw))
        x1, y1, x2, y2 = box
        w, h = x2 - x1, y2 - y1
        anns.append(dict(category_id=classes.index(name) + 1,
                         bbox=[round(x1, 2), round(y1, 2), round(w, 2), round(h, 2)],
                         area=round(w * h, 2), iscrowd=iscrowd))
    if not anns:
        report_add('images_without_boxes',
                   f'{osp.basename(xml_path)}: kept with 0 annotations '
                   f'({len(ann["objects"])} in XML)')
    return dict(file_name=img_name, width=width, height=height), anns, events


def convert_split(root: str, split: str, classes: Sequence[str], opts: Options, report: Report,
                  cache: Dict[str, Any]) -> Dict[str, Any]:
    """Convert one split into a COCO dict (image and annotation ids start at 1).

    ``cache`` maps image id -> converted result so an image shared by two splits (train and
    trainval) is parsed once and its issues counted once in the overall report.
    """
    images, annotations = [], []
    counts: Counter = Counter()
    seen = set()
    for img_id in read_split(root, split):
        if img_id in seen:
            counts['duplicate_id_in_split'] += 1
            report.add_unique([('duplicate_id_in_split', f'{split}.txt: {img_id} listed again; '
                                'kept once')])
            continue
        seen.add(img_id)
        if img_id not in cache:
            try:
                result = convert_image(root, img_id, classes, opts)
            except ConversionError as e:
                if not opts.skip_bad_files:
                    raise
                result = (None, [], [('bad_file', str(e))])  # image left out, counted
            cache[img_id] = result
            img, anns, events = result
            report.add_unique([ev for ev in events if ev[0] != 'unknown_name'])
            report.unknown_names.update(n for r, n in events if r == 'unknown_name')
            if img is not None:
                report.unique_images += 1
                report.unique_boxes.update(classes[a['category_id'] - 1] for a in anns)
        img, anns, events = cache[img_id]
        counts.update(r for r, _ in events if r != 'unknown_name')
        if img is None:
            continue
        img = dict(img, id=len(images) + 1)
        images.append(img)
        for a in anns:
            annotations.append(dict(a, id=len(annotations) + 1, image_id=img['id']))
    report.images[split] = len(images)
    report.split_counts[split] = counts
    per_cls = Counter(classes[a['category_id'] - 1] for a in annotations)
    report.boxes[split] = OrderedDict((c, per_cls[c]) for c in classes)
    return dict(images=images, annotations=annotations,
                categories=[dict(id=i + 1, name=c, supercategory='none')
                            for i, c in enumerate(classes)])


def link_images(root: str, out_dir: str) -> Optional[str]:
    """Make ``out_dir/JPEGImages`` a relative symlink to ``root/JPEGImages``; returns the link."""
    link = osp.join(out_dir, 'JPEGImages')
    target = osp.relpath(osp.abspath(osp.join(root, 'JPEGImages')), osp.abspath(out_dir))
    if osp.islink(link):
        if os.readlink(link) == target:
            return link
        os.remove(link)
    elif osp.exists(link):
        print(f'warning: {link} exists and is not a symlink; left as is', file=sys.stderr)
        return None
    os.symlink(target, link)
    return link


def voc2coco(root: str, out_dir: str, splits: Sequence[str],
             opts: Optional[Options] = None, symlink: bool = True) -> Report:
    """Convert ``splits`` of the VOC dataset at ``root``; write JSONs under ``out_dir/annotations``.

    Raises ConversionError (with the offending file named) on input it cannot handle.
    """
    opts = opts or Options()
    if not osp.isdir(osp.join(root, 'Annotations')):
        raise ConversionError(f'{root} does not look like a VOC dataset (no Annotations/ folder)')
    split_ids = {s: read_split(root, s) for s in splits}
    classes = list(opts.classes) if opts.classes else collect_class_names(
        root, sorted({i for ids in split_ids.values() for i in ids}))
    if len(set(classes)) != len(classes):
        raise ConversionError(f'--classes has repeated names: {classes}')
    if not classes:
        raise ConversionError(f'no object names found in the XMLs under {root}; give --classes')

    report = Report()
    cache: Dict[str, Any] = {}
    results = {s: convert_split(root, s, classes, opts, report, cache) for s in splits}
    report.unique_boxes = Counter(OrderedDict((c, report.unique_boxes[c]) for c in classes))
    if report.unknown_names and not opts.skip_unknown:
        listed = ', '.join(f'{n or "<empty>"!s} ({c} boxes)'
                           for n, c in report.unknown_names.most_common())
        raise ConversionError(f'class names not in --classes {classes}: {listed}; e.g. '
                              f'{report.examples["unknown_class"][0]}. Add them to --classes or '
                              'pass --skip-unknown to drop those boxes.')

    ann_dir = osp.join(out_dir, 'annotations')
    os.makedirs(ann_dir, exist_ok=True)
    info = dict(description=f'{osp.basename(osp.normpath(root))} converted from Pascal VOC',
                converter='tools/dataset_converters/voc2coco.py', version=VERSION,
                source=osp.abspath(root), classes=classes,
                options=dict(zero_based=opts.zero_based, min_size=opts.min_size,
                             near_dup_iou=opts.near_dup_iou, difficult=opts.difficult,
                             skip_unknown=opts.skip_unknown, skip_bad_files=opts.skip_bad_files),
                report=report.to_dict())
    for split, coco in results.items():
        coco = dict(info=dict(info, split=split), licenses=[], **coco)
        path = osp.join(ann_dir, f'instances_{split}.json')
        tmp = path + '.tmp'
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump(coco, f)
        os.replace(tmp, path)
    if symlink:
        link_images(root, out_dir)
    return report


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description='Convert a Pascal VOC dataset to COCO JSON (reports and skips malformed boxes).',
        epilog='Example: python tools/dataset_converters/voc2coco.py ../shared/data/bccd/BCCD '
        '--out data/bccd --classes RBC WBC Platelets --splits train val test trainval',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('root', help='VOC root with Annotations/, JPEGImages/, ImageSets/Main/')
    p.add_argument('--out', default='data/bccd',
                   help='output folder; JSONs go to OUT/annotations/instances_<split>.json')
    p.add_argument('--splits', nargs='+', default=['train', 'val', 'test', 'trainval'],
                   help='split names (ImageSets/Main/<split>.txt)')
    p.add_argument('--classes', nargs='+', default=None,
                   help='class names in category-id order (ids from 1); default: sorted set '
                   'found in the XMLs. For BCCD use: --classes RBC WBC Platelets')
    p.add_argument('--skip-unknown', action='store_true',
                   help='with --classes: drop (and count) boxes of other classes instead of failing')
    p.add_argument('--skip-bad-files', action='store_true',
                   help='leave out (and count) images whose XML/image is missing or corrupt '
                   'instead of failing')
    p.add_argument('--zero-based', action='store_true',
                   help='XML coordinates are already 0-based continuous (no xmin-1 shift)')
    p.add_argument('--min-size', type=float, default=1.0,
                   help='boxes narrower/shorter than this (px) after clipping are skipped')
    p.add_argument('--near-dup-iou', type=float, default=0.9,
                   help='drop a box with IoU >= this to a kept box of the same class (0: off)')
    p.add_argument('--difficult', choices=['ignore', 'keep', 'skip'], default='ignore',
                   help='VOC difficult boxes: iscrowd=1 (ignore), plain boxes (keep) or drop')
    p.add_argument('--img-ext', default='.jpg', help='image extension in JPEGImages/')
    p.add_argument('--no-symlink', action='store_true',
                   help='do not link OUT/JPEGImages -> ROOT/JPEGImages '
                   '(then set data_prefix.img to ROOT/JPEGImages/)')
    return p.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """CLI entry point; returns the exit status (0 ok, 1 conversion error)."""
    args = parse_args(argv)
    opts = Options(classes=args.classes, skip_unknown=args.skip_unknown,
                   skip_bad_files=args.skip_bad_files, zero_based=args.zero_based,
                   min_size=args.min_size, near_dup_iou=args.near_dup_iou,
                   difficult=args.difficult, img_ext=args.img_ext)
    if args.skip_unknown and not args.classes:
        print('error: --skip-unknown needs --classes', file=sys.stderr)
        return 1
    try:
        report = voc2coco(args.root, args.out, args.splits, opts, symlink=not args.no_symlink)
    except ConversionError as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    except Exception as e:  # noqa: BLE001  no bare traceback for users; say what failed
        print(f'error: unexpected {type(e).__name__} while converting {args.root}: {e}',
              file=sys.stderr)
        return 1
    print(report.format())
    print(f'wrote {", ".join(f"{args.out}/annotations/instances_{s}.json" for s in args.splits)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
