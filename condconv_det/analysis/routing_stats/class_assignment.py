"""Which class each image's routing vector counts for, from its ground-truth boxes (``assign`` modes: see
:mod:`condconv_det.analysis.routing_stats`)."""
from typing import Any, Sequence

import torch
from torch import Tensor

ASSIGN_MODES = ('area', 'presence', 'boxes')


def class_weights_of(data_samples: Sequence[Any], num_classes: int, assign: str = 'area') -> Tensor:
    """``(B, C)`` weights of each image for each class from its ground-truth boxes (``gt_instances.labels`` and
    ``.bboxes``): 1 for the class with the largest total box area (``'area'``), 1 per class present
    (``'presence'``) or the number of boxes of the class (``'boxes'``). Rows of zeros for images without boxes."""
    if assign not in ASSIGN_MODES:
        raise ValueError(f'assign must be one of {ASSIGN_MODES}, got assign={assign!r}')
    weights = torch.zeros(len(data_samples), num_classes, dtype=torch.float64)
    for row, sample in enumerate(data_samples):
        gt = getattr(sample, 'gt_instances', None)
        labels = getattr(gt, 'labels', None) if gt is not None else None
        if labels is None or len(labels) == 0:
            continue
        labels = torch.as_tensor(labels).long().cpu().flatten()
        counts = torch.bincount(labels, minlength=num_classes)[:num_classes].double()
        if assign == 'boxes':
            weights[row] = counts
        elif assign == 'presence':
            weights[row] = (counts > 0).double()
        else:
            weights[row, dominant_class(labels, box_areas(gt.bboxes), counts)] = 1.0
    return weights


def box_areas(bboxes: Any) -> Tensor:
    """Areas of ``(N, 4)`` ``x1, y1, x2, y2`` boxes (a tensor or mmdet's ``HorizontalBoxes``)."""
    boxes = torch.as_tensor(bboxes.tensor if hasattr(bboxes, 'tensor') else bboxes).double().cpu().reshape(-1, 4)
    return (boxes[:, 2] - boxes[:, 0]).clamp_min(0) * (boxes[:, 3] - boxes[:, 1]).clamp_min(0)


def dominant_class(labels: Tensor, areas: Tensor, counts: Tensor) -> int:
    """The class with the largest total box area; ties: more boxes, then the lower index."""
    class_area = torch.zeros_like(counts).index_add_(0, labels, areas)
    tied = class_area >= class_area.max() * (1 - 1e-9)
    scores = torch.where(tied, counts, torch.full_like(counts, -1.0))
    return int(scores.argmax())
