"""Does the class specificity of routing grow with depth? (computed on the per-layer summaries)"""
from typing import Any, Dict, List, Optional, Sequence

import torch
from torch import Tensor


def specificity_depth_trend(layers: List[Dict[str, Any]]) -> Dict[str, Any]:
    """Does class specificity grow with depth? Spearman correlation of ``epsilon²`` with depth, and the mean
    ``eta²``/``epsilon²`` of the shallower and deeper half of the layers (backbone and head separately too)."""

    def halves(rows: List[Dict[str, Any]]) -> Dict[str, Any]:
        if len(rows) < 2:
            return dict(layers=len(rows))
        eps = [row['specificity']['epsilon_squared'] for row in rows]
        eta = [row['specificity']['eta_squared'] for row in rows]
        half = len(rows) // 2
        return dict(layers=len(rows), spearman_depth_epsilon_squared=_spearman(list(range(len(rows))), eps),
                    shallow_half_mean_eta_squared=sum(eta[:half]) / half,
                    deep_half_mean_eta_squared=sum(eta[half:]) / (len(rows) - half),
                    shallow_half_mean_epsilon_squared=sum(eps[:half]) / half,
                    deep_half_mean_epsilon_squared=sum(eps[half:]) / (len(rows) - half))

    result = dict(all=halves(layers))
    for part in sorted({row['name'].split('.')[0] for row in layers}):
        result[part] = halves([row for row in layers if row['name'].split('.')[0] == part])
    return result


def _spearman(x: Sequence[float], y: Sequence[float]) -> Optional[float]:
    def ranks(values: Sequence[float]) -> Tensor:
        values_t = torch.tensor(values, dtype=torch.float64)
        order = values_t.argsort()
        rank = torch.empty_like(values_t)
        rank[order] = torch.arange(len(values), dtype=torch.float64)
        for value in values_t.unique():  # average ranks of ties
            tied = values_t == value
            rank[tied] = rank[tied].mean()
        return rank

    rx, ry = ranks(x), ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denominator = float(rx.norm() * ry.norm())
    return None if denominator == 0 else float((rx * ry).sum()) / denominator
