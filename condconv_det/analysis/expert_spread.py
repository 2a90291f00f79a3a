"""How far apart the experts of each CondConv layer are: did they specialise?

Expert ``i`` of a layer receives the gradient ``r_i(x) · ∂L/∂W̄`` (Eq. 1: ``W̄ = Σ_i r_i(x) W_i``), so while the
routing is (nearly) the same for every expert, every expert moves the same way and their differences stay what they
were at the start. An upcycled layer starts at ``W_i = W + ε_i`` with zero-sum noise of ``noise_std`` times the kernel
std (``models/utils/upcycle.py``): its spread starts near ``noise_std·sqrt(1 - 1/E)`` and stays there if the experts
never diverge; a from-scratch layer starts near ``sqrt(E - 1)`` (independent experts).
"""
from collections import OrderedDict
from typing import Dict

import torch
import torch.nn as nn

from condconv_det.layers import CondConv2d


@torch.no_grad()
def expert_spread(model: nn.Module) -> 'OrderedDict[str, float]':
    """``mean_i ||W_i - W_m|| / ||W_m||`` per :class:`CondConv2d` (``W_m`` the experts' mean), by module path; 0 for
    identical experts."""
    spread: 'OrderedDict[str, float]' = OrderedDict()
    for name, module in model.named_modules():
        if isinstance(module, CondConv2d):
            experts = module.weight.detach().flatten(1).double()
            mean = experts.mean(0, keepdim=True)
            spread[name] = float((experts - mean).norm(dim=1).mean() / mean.norm().clamp_min(1e-12))
    return spread


def spread_by_part(spread: Dict[str, float]) -> Dict[str, Dict[str, float]]:
    """Mean, min and max of :func:`expert_spread` per top-level part (``backbone``, ``bbox_head``, …)."""
    parts: Dict[str, list] = {}
    for name, value in spread.items():
        parts.setdefault(name.split('.')[0], []).append(value)
    return {part: dict(layers=len(values), mean=sum(values) / len(values), min=min(values), max=max(values))
            for part, values in parts.items()}
