"""Per-stage routing numbers of one training batch, for logging (``RoutingStatsHook``)."""
from collections import OrderedDict
from typing import Dict, List

import torch
from torch import Tensor

from .accumulators import NEAR_ONE, NEAR_ZERO, normalized_entropy
from .recording import stage_of


def stage_summaries(routing_by_layer: Dict[str, Tensor], near_zero: float = NEAR_ZERO,
                    near_one: float = NEAR_ONE) -> 'OrderedDict[str, Dict[str, float]]':
    """Per-stage numbers of one batch for training-time logging: mean normalised entropy, mean and std of the
    weights, fractions near 0 / near 1, and the across-batch std (mean over experts; ~0 means collapsed)."""
    grouped: 'OrderedDict[str, List[Tensor]]' = OrderedDict()
    for name, routing in routing_by_layer.items():
        grouped.setdefault(stage_of(name), []).append(routing.detach().float())
    result: 'OrderedDict[str, Dict[str, float]]' = OrderedDict()
    for stage, routings in grouped.items():
        values = torch.cat([r.flatten() for r in routings])
        result[stage] = dict(
            entropy=float(torch.cat([normalized_entropy(r) for r in routings]).mean()),
            mean=float(values.mean()),
            std=float(values.std(unbiased=False)),
            near0=float((values < near_zero).float().mean()),
            near1=float((values > near_one).float().mean()),
            batch_std=float(torch.stack([across_batch_std(r) for r in routings]).mean()),
        )
    return result


def across_batch_std(routing: Tensor) -> Tensor:
    """How different the examples' routing vectors are: std over the batch, averaged over experts (0 if B = 1)."""
    if routing.shape[0] < 2:
        return routing.new_zeros(())
    return routing.float().std(dim=0, unbiased=False).mean()
