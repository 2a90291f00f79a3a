#!/usr/bin/env python
"""Validate a dataset before training: a config (every split's COCO file and images, the plugin import, the heads'
``num_classes``) or a single COCO annotation JSON.

    python tools/misc/check_dataset.py CONFIG [--splits train val] [--check-images header|decode|none]
                                       [--cfg-options k=v ...]
    python tools/misc/check_dataset.py ANN_JSON [--img-dir DIR] [--classes A B C] [--check-images decode]

Prints what is wrong with each file and how to fix it, and counts what mmdet would drop silently (zero-size boxes,
boxes outside the image, images without boxes). Exit status 0: usable; 1: errors found.
"""
import argparse
import sys
from pathlib import Path
from typing import List, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # this checkout, even without `pip install -e`
from condconv_det.datasets import CHECK_IMAGE_MODES, DatasetCheckError, check_coco_file  # noqa: E402


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('target', help='an mmdet config (.py) or a COCO annotation file (.json)')
    parser.add_argument('--img-dir', help='image folder of ANN_JSON (omit to skip the image checks)')
    parser.add_argument('--classes', nargs='+', help='class names the config will use, for ANN_JSON')
    parser.add_argument('--splits', nargs='+', default=['train', 'val', 'test'], help='config splits to check')
    parser.add_argument('--check-images', choices=CHECK_IMAGE_MODES, default='header',
                        help='header: existence, size, header and end-of-file marker; decode: full decode (slow)')
    parser.add_argument('--test-mode', action='store_true', help='ANN_JSON is a val/test file (no empty-image count)')
    parser.add_argument('--cfg-options', nargs='+', default=[], help='override config settings, key=value')
    return parser.parse_args(argv)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the checks, print the reports; return the exit status."""
    args = parse_args(argv)
    errors: List[str] = []
    if args.target.endswith('.py'):
        from mmengine.config import Config, DictAction
        from condconv_det.utils.config_checks import check_config
        cfg = Config.fromfile(args.target)
        if args.cfg_options:
            options = argparse.Namespace()
            DictAction(option_strings=[], dest='cfg_options')(None, options, args.cfg_options)
            cfg.merge_from_dict(options.cfg_options)
        errors, reports = check_config(cfg, tuple(args.splits), args.check_images)
    else:
        try:
            reports = [check_coco_file(args.target, args.img_dir, args.classes, args.check_images, args.test_mode)]
        except DatasetCheckError as error:
            reports, errors = [], [str(error)]
    for report in reports:
        print(report.summary())
    for message in errors:
        print(f'ERROR {message}')
    total = len(errors) + sum(len(report.errors) for report in reports)
    print(f'{total} error(s): ' + ('fix them before training.' if total else 'the dataset is usable.'))
    return 1 if total else 0


if __name__ == '__main__':
    sys.exit(main())
