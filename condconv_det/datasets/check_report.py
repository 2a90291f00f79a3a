"""The report of a dataset check: fatal errors, counted skips and notes, each with its first examples.

:class:`CheckReport` is what :func:`~condconv_det.datasets.annotation_checks.check_coco_annotations` returns;
:func:`count_example` is its counting rule (a count per kind, the first :data:`MAX_EXAMPLES` examples kept), shared
with the VOC converter's report (``tools/dataset_converters/voc2coco.py``).
"""
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Dict, List

MAX_EXAMPLES = 5
# Why each counted skip happens (mmdet drops these boxes/images without a word).
SKIP_REASONS = {
    'box_too_small': 'boxes with width or height < 1 pixel (zero or negative size)',
    'box_outside_image': 'boxes entirely outside their image',
    'box_nonpositive_area': "boxes whose 'area' is <= 0",
    'box_category_not_in_classes': 'boxes of a category not in the config\'s metainfo.classes',
    'box_ignore_flag': "boxes marked 'ignore'",
    'image_without_boxes': 'training images without any annotation of the classes (dropped when '
                           'filter_cfg.filter_empty_gt=True, as in the configs)',
}
NOTE_REASONS = {
    'box_partly_outside': 'boxes partly outside their image (kept; Resize clips them to the image)',
    'image_not_rgb': 'grayscale/RGBA/palette images (LoadImageFromFile converts them to 3-channel BGR)',
    'box_crowd': 'crowd boxes (iscrowd=1: used as ignore regions, not as targets)',
    'image_only_invalid_boxes': 'training images whose boxes were all skipped (kept, trained as background only)',
    'eval_class_without_boxes': "classes without any box in this validation/test file (left out of COCO's mAP, which "
                                'averages over the classes present; their per-class AP is nan)',
    'eval_image_without_boxes': 'validation/test images without any box (evaluated as background: every detection '
                                'on them counts as a false positive)',
    'eval_file_without_boxes': 'validation/test files without a single box (COCO mAP is -1, i.e. undefined: only '
                               'format_only=True, e.g. for a test server, is meaningful; to evaluate, use a file '
                               'with boxes)',
}


def count_example(counts: Counter, examples: Dict[str, List[str]], kind: str, example: str) -> None:
    """Count one ``kind`` in ``counts``; keep ``example`` if ``kind`` has fewer than :data:`MAX_EXAMPLES` so far."""
    counts[kind] += 1
    if len(examples[kind]) < MAX_EXAMPLES:
        examples[kind].append(example)


class DatasetCheckError(ValueError):
    """An annotation file or image that training cannot use; the message names the file and the fix."""


@dataclass
class CheckReport:
    """Outcome of :func:`check_coco_annotations`: errors (fatal), counted skips and notes, with examples."""

    ann_file: str
    num_images: int = 0
    num_annotations: int = 0
    errors: List[str] = field(default_factory=list)
    skips: Counter = field(default_factory=Counter)
    notes: Counter = field(default_factory=Counter)
    examples: Dict[str, List[str]] = field(default_factory=lambda: defaultdict(list))

    def error(self, message: str) -> None:
        self.errors.append(message)

    def count(self, table: Counter, kind: str, example: str) -> None:
        count_example(table, self.examples, kind, example)

    def skip(self, kind: str, example: str) -> None:
        self.count(self.skips, kind, example)

    def note(self, kind: str, example: str) -> None:
        self.count(self.notes, kind, example)

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        """Human-readable report: one line per error, skip kind and note kind."""
        lines = [f'{self.ann_file}: {self.num_images} images, {self.num_annotations} annotations, '
                 f'{len(self.errors)} error(s), {sum(self.skips.values())} skipped item(s)']
        lines += [f'  ERROR {message}' for message in self.errors]
        for kind, number in sorted(self.skips.items()):
            lines.append(f'  skipped {number} {SKIP_REASONS[kind]} (e.g. {"; ".join(self.examples[kind])})')
        for kind, number in sorted(self.notes.items()):
            lines.append(f'  note: {number} {NOTE_REASONS[kind]} (e.g. {"; ".join(self.examples[kind])})')
        return '\n'.join(lines)

    def raise_if_errors(self) -> None:
        if self.errors:
            raise DatasetCheckError(
                f'{self.ann_file} failed {len(self.errors)} check(s):\n' + '\n'.join(f'  - {e}' for e in self.errors))
