#!/usr/bin/env python
"""Generate the deterministic "demo shapes" COCO detection dataset (the demo's default data).

Three classes (circle, triangle, rectangle) drawn with OpenCV on cluttered backgrounds. Every object
has a random colour and texture (solid / stripes / gradient / noise), some are drawn as outlines only
(rings, hollow triangles and frames), sizes run log-uniformly from small (16 px) to large (100 px) on
a 160×160 canvas (scaled with ``--img-size``), objects may partially occlude earlier ones (each keeps
≥ 50 % of its area visible) and boxes are those of the visible pixels as drawn. Background: smooth
colour fields, pixel noise, and distractors that are not objects (lines, arcs, irregular textured
blobs). Colour alone does not separate the classes; shape does.

Layout (mirrors mmdet's COCO configs: ``data_root='data/demo/'``,
``ann_file='annotations/instances_train.json'``, ``data_prefix=dict(img='train/')``)::

    OUT/train/000000.jpg …   OUT/val/000000.jpg …
    OUT/annotations/instances_train.json   OUT/annotations/instances_val.json

Deterministic: each image is drawn from its own ``numpy.random.default_rng([seed, split, index])``
and written as JPEG with a fixed quality, so two runs on one machine give identical bytes. The JSON
``info`` stores the seed, the generator version and a fingerprint of all parameters, the
generator's source and the OpenCV version; a rerun whose fingerprint matches (and whose images
exist) returns at once; ``--force`` regenerates.

Usage::

    python tools/misc/make_demo_dataset.py [--out data/demo] [--num-train 240] [--num-val 60] \
        [--img-size 160] [--seed 0] [--force]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import os.path as osp
import re
import sys
import time
from collections import Counter
from typing import Any, Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

VERSION = '1.0'
CLASSES = ('circle', 'triangle', 'rectangle')
JPEG_QUALITY = 90
SPLITS = ('train', 'val')
_SPLIT_CODE = {'train': 1, 'val': 2}
_MIN_VISIBLE = 0.5  # each object keeps at least this fraction of its pixels visible
_MIN_CONTRAST = 60  # L1 distance (0..765) between object and local background mean colours
_MIN_EXTENT, _MAX_EXTENT = 16, 100  # object diameters (px) on a 160-px canvas; scale with size


def _source_digest() -> str:
    with open(__file__, 'rb') as f:
        return hashlib.sha256(f.read()).hexdigest()


def fingerprint(num_train: int, num_val: int, img_size: int, seed: int) -> str:
    """Hash of everything that determines the dataset's content (parameters and this file's code)."""
    params = dict(version=VERSION, classes=CLASSES, jpeg_quality=JPEG_QUALITY,
                  num_train=num_train, num_val=num_val, img_size=img_size, seed=seed,
                  code=_source_digest(), opencv=cv2.__version__)
    return hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]


# ----------------------------------------------------------------------------------------- drawing
def _colour(rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 256, 3).astype(np.float32)


def _texture(rng: np.random.Generator, size: int, base: np.ndarray) -> np.ndarray:
    """A size×size×3 float texture around colour ``base``: solid, stripes, gradient or noise."""
    kind = rng.integers(4)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    if kind == 0:  # solid
        return np.broadcast_to(base, (size, size, 3)).copy()
    other = _colour(rng)
    theta = rng.uniform(0, np.pi)
    proj = xx * np.cos(theta) + yy * np.sin(theta)
    if kind == 1:  # stripes
        period = rng.uniform(4, 10)
        on = (np.floor(proj / (period / 2)) % 2)[..., None]
        return base * (1 - on) + other * on
    if kind == 2:  # linear gradient
        t = ((proj - proj.min()) / max(float(np.ptp(proj)), 1.0))[..., None]
        return base * (1 - t) + other * t
    return base + rng.normal(0, 28, (size, size, 3)).astype(np.float32)  # noisy


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """Smooth random colour field + gradient + pixel noise (float32, size×size×3)."""
    grid = rng.integers(2, 6)
    low = rng.uniform(0, 255, (grid, grid, 3)).astype(np.float32)
    field = cv2.resize(low, (size, size), interpolation=cv2.INTER_CUBIC)
    field = field * rng.uniform(0.3, 0.8) + _colour(rng) * rng.uniform(0.2, 0.7)
    return field + rng.normal(0, rng.uniform(3, 12), (size, size, 3)).astype(np.float32)


def _random_point(rng: np.random.Generator, size: int) -> Tuple[int, int]:
    return int(rng.integers(0, size)), int(rng.integers(0, size))


def _add_clutter(rng: np.random.Generator, img: np.ndarray) -> None:
    """Distractors that are not objects: lines, arcs, irregular textured blobs (in place)."""
    size = img.shape[0]
    for _ in range(rng.integers(1, 5)):  # lines
        cv2.line(img, _random_point(rng, size), _random_point(rng, size),
                 _colour(rng).tolist(), int(rng.integers(1, 3)))
    for _ in range(rng.integers(0, 3)):  # open arcs (not circles)
        r = int(rng.integers(6, size // 4))
        start = float(rng.uniform(0, 360))
        cv2.ellipse(img, _random_point(rng, size), (r, int(r * rng.uniform(0.5, 1.0))),
                    float(rng.uniform(0, 180)), start, start + float(rng.uniform(60, 200)),
                    _colour(rng).tolist(), int(rng.integers(1, 3)))
    for _ in range(rng.integers(1, 4)):  # irregular blobs
        n = int(rng.integers(9, 15))  # many jagged vertices: splats, not polygons
        r = rng.uniform(5, size / 9)
        cx, cy = _random_point(rng, size)
        ang = np.sort(rng.uniform(0, 2 * np.pi, n))
        rad = r * rng.uniform(0.3, 1.0, n)
        pts = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], 1)
        mask = np.zeros((size, size), np.uint8)
        cv2.fillPoly(mask, [np.round(pts).astype(np.int32)], 1)
        tex = _texture(rng, size, _colour(rng))
        img[mask > 0] = tex[mask > 0]


def _shape_mask(rng: np.random.Generator, cls: int, size: int, extent: float,
                centre: Tuple[float, float], outline: bool) -> np.ndarray:
    """uint8 mask of one object of class ``cls`` with diameter ~``extent`` at ``centre``."""
    mask = np.zeros((size, size), np.uint8)
    cx, cy = centre
    r = extent / 2
    thick = -1 if not outline else max(2, int(round(extent / 8)))
    if CLASSES[cls] == 'circle':
        cv2.circle(mask, (int(round(cx)), int(round(cy))), max(int(round(r)), 2), 1, thick)
        return mask
    if CLASSES[cls] == 'triangle':
        a0 = rng.uniform(0, 2 * np.pi)
        ang = a0 + np.array([0, 2, 4]) * np.pi / 3 + rng.uniform(-0.25, 0.25, 3)
        rad = r * rng.uniform(0.85, 1.0, 3)
        pts = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], 1)
    else:  # rectangle, any aspect 0.45..1 and rotation
        pts = cv2.boxPoints(((cx, cy), (extent * 0.9, extent * 0.9 * rng.uniform(0.45, 1.0)),
                             float(rng.uniform(0, 90))))
    pts = [np.round(pts).astype(np.int32)]
    if outline:
        cv2.polylines(mask, pts, True, 1, thick)
    else:
        cv2.fillPoly(mask, pts, 1)
    return mask


def render_image(rng: np.random.Generator, size: int
                 ) -> Tuple[np.ndarray, List[Tuple[int, List[float]]]]:
    """Draw one image; returns (uint8 BGR image, [(class index, [x, y, w, h]) …])."""
    img = _background(rng, size)
    _add_clutter(rng, img)
    owner = np.full((size, size), -1, np.int32)  # index of the object on top at each pixel
    areas: List[int] = []
    classes: List[int] = []
    for _ in range(rng.integers(1, 7)):
        cls = int(rng.integers(len(CLASSES)))
        extent = float(np.exp(rng.uniform(np.log(_MIN_EXTENT), np.log(_MAX_EXTENT)))) * size / 160
        outline = bool(rng.random() < 0.2) and extent >= 20
        for _try in range(10):
            margin = extent * 0.3  # a little truncation at the border is allowed
            centre = (rng.uniform(margin, size - margin), rng.uniform(margin, size - margin))
            mask = _shape_mask(rng, cls, size, extent, centre, outline) > 0
            if mask.sum() < 20:
                continue
            hidden = np.bincount(owner[mask & (owner >= 0)], minlength=len(areas))
            visible = [(owner == i).sum() - hidden[i] for i in range(len(areas))]
            if all(v >= _MIN_VISIBLE * a for v, a in zip(visible, areas)):
                break
        else:
            continue  # no placement keeps the others visible enough: skip this object
        under = img[mask].mean(0)
        for _c in range(6):
            base = _colour(rng)
            if np.abs(base - under).sum() >= _MIN_CONTRAST:
                break
        tex = _texture(rng, size, base)
        img[mask] = tex[mask]
        owner[mask] = len(areas)
        areas.append(int(mask.sum()))
        classes.append(cls)
    img += rng.normal(0, 3, img.shape).astype(np.float32)
    boxes = []
    for i, cls in enumerate(classes):
        ys, xs = np.nonzero(owner == i)
        x0, y0 = int(xs.min()), int(ys.min())
        boxes.append((cls, [float(x0), float(y0), float(xs.max() + 1 - x0),
                            float(ys.max() + 1 - y0)]))
    return np.clip(np.round(img), 0, 255).astype(np.uint8), boxes


# ------------------------------------------------------------------------------------- dataset I/O
def _ann_path(out_dir: str, split: str) -> str:
    return osp.join(out_dir, 'annotations', f'instances_{split}.json')


def is_up_to_date(out_dir: str, fp: str) -> bool:
    """True when both JSONs carry fingerprint ``fp`` and every listed image exists."""
    for split in SPLITS:
        try:
            with open(_ann_path(out_dir, split), encoding='utf-8') as f:
                coco = json.load(f)
        except (OSError, ValueError):
            return False
        if coco.get('info', {}).get('fingerprint') != fp:
            return False
        if not all(osp.isfile(osp.join(out_dir, split, im['file_name'])) for im in coco['images']):
            return False
    return True


def summarize(out_dir: str) -> Dict[str, Any]:
    """Images, boxes per class and COCO size buckets per split, read back from the JSONs."""
    summary: Dict[str, Any] = {}
    for split in SPLITS:
        with open(_ann_path(out_dir, split), encoding='utf-8') as f:
            coco = json.load(f)
        names = {c['id']: c['name'] for c in coco['categories']}
        per_cls = Counter(names[a['category_id']] for a in coco['annotations'])
        sizes = Counter('small' if a['area'] < 32**2 else 'medium' if a['area'] < 96**2 else 'large'
                        for a in coco['annotations'])
        summary[split] = dict(images=len(coco['images']), boxes=len(coco['annotations']),
                              per_class={n: per_cls[n] for n in names.values()},
                              sizes={k: sizes[k] for k in ('small', 'medium', 'large')})
    return summary


def make_demo_dataset(out_dir: str = 'data/demo', num_train: int = 240, num_val: int = 60,
                      img_size: int = 160, seed: int = 0, force: bool = False) -> Dict[str, Any]:
    """Generate (or reuse, when up to date and not ``force``) the demo dataset under ``out_dir``.

    Returns ``dict(generated=bool, seconds=float, fingerprint=str, summary=summarize(out_dir))``.
    """
    t0 = time.perf_counter()
    fp = fingerprint(num_train, num_val, img_size, seed)
    if not force and is_up_to_date(out_dir, fp):
        return dict(generated=False, seconds=time.perf_counter() - t0, fingerprint=fp,
                    summary=summarize(out_dir))
    os.makedirs(osp.join(out_dir, 'annotations'), exist_ok=True)
    for split in SPLITS:  # an interrupted run must not look complete
        if osp.exists(_ann_path(out_dir, split)):
            os.remove(_ann_path(out_dir, split))
    categories = [dict(id=i + 1, name=n, supercategory='shape') for i, n in enumerate(CLASSES)]
    img_id = ann_id = 0
    cocos = {}
    for split, num in (('train', num_train), ('val', num_val)):
        img_dir = osp.join(out_dir, split)
        os.makedirs(img_dir, exist_ok=True)
        images, annotations = [], []
        for idx in range(num):
            rng = np.random.default_rng([seed, _SPLIT_CODE[split], idx])
            img, boxes = render_image(rng, img_size)
            file_name = f'{idx:06d}.jpg'
            ok, buf = cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
            if not ok:
                raise RuntimeError(f'JPEG encoding failed for {split}/{file_name}')
            with open(osp.join(img_dir, file_name), 'wb') as f:
                f.write(buf.tobytes())
            img_id += 1
            images.append(dict(id=img_id, file_name=file_name, width=img_size, height=img_size))
            for cls, (x, y, w, h) in boxes:
                ann_id += 1
                annotations.append(dict(id=ann_id, image_id=img_id, category_id=cls + 1,
                                        bbox=[x, y, w, h], area=w * h, iscrowd=0))
        stale = re.compile(r'^(\d{6})\.jpg$')
        for name in os.listdir(img_dir):  # images of an earlier, larger run
            m = stale.match(name)
            if m and int(m.group(1)) >= num:
                os.remove(osp.join(img_dir, name))
        info = dict(description='condconv_det demo shapes: deterministic synthetic detection data',
                    generator='tools/misc/make_demo_dataset.py', version=VERSION, seed=seed,
                    split=split, num_train=num_train, num_val=num_val, img_size=img_size,
                    jpeg_quality=JPEG_QUALITY, fingerprint=fp)
        cocos[split] = dict(info=info, licenses=[], images=images, annotations=annotations,
                            categories=categories)
    for split, coco in cocos.items():  # JSONs last: they mark the dataset complete
        tmp = _ann_path(out_dir, split) + '.tmp'
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump(coco, f, indent=None, sort_keys=True)
        os.replace(tmp, _ann_path(out_dir, split))
    return dict(generated=True, seconds=time.perf_counter() - t0, fingerprint=fp,
                summary=summarize(out_dir))


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description='Generate the deterministic demo-shapes COCO dataset (circle/triangle/rectangle).',
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument('--out', default='data/demo', help='output folder')
    p.add_argument('--num-train', type=int, default=240, help='training images')
    p.add_argument('--num-val', type=int, default=60, help='validation images')
    p.add_argument('--img-size', type=int, default=160, help='square image side (px)')
    p.add_argument('--seed', type=int, default=0, help='random seed')
    p.add_argument('--force', action='store_true', help='regenerate even if up to date')
    args = p.parse_args(argv)
    if args.num_train < 1 or args.num_val < 1 or args.img_size < 64:
        p.error('need --num-train >= 1, --num-val >= 1 and --img-size >= 64')
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    """CLI entry point."""
    args = parse_args(argv)
    res = make_demo_dataset(args.out, args.num_train, args.num_val, args.img_size, args.seed,
                            force=args.force)
    state = 'generated' if res['generated'] else 'up to date (fingerprint matches; --force regenerates)'
    print(f'demo dataset {args.out}: {state} in {res["seconds"]:.1f} s, '
          f'fingerprint {res["fingerprint"]}')
    for split, s in res['summary'].items():
        per_cls = ', '.join(f'{k} {v}' for k, v in s['per_class'].items())
        sizes = ', '.join(f'{k} {v}' for k, v in s['sizes'].items())
        print(f'  {split:>5}: {s["images"]} images, {s["boxes"]} boxes ({per_cls}; {sizes})')
    return 0


if __name__ == '__main__':
    sys.exit(main())
