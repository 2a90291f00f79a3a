"""Paired comparison of two conditions of seeded studies: treatment minus baseline on the same starting point and seed.

Runs that share a study, a *group* and a seed are a pair: conditions named ``<prefix>`` or ``<prefix>-<group>``
(``static-ft12e-base4`` and ``cc1-both-upcycled-ft12e-base4`` are group ``base4`` of the prefixes ``static-ft12e`` and
``cc1-both-upcycled-ft12e``), i.e. the same starting model, data order and seed. Reported: the mean difference, how
many pairs the treatment leads, the paired t statistic, and the difference in units of the pooled seed std (the
within-group std of both conditions, pooled): the issue's bar for "pays" is 2x that std.
"""
import math
import statistics
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from .study import mean_std


@dataclass
class PairedDelta:
    pairs: int
    groups: int
    baseline: Tuple  # mean, sample std, n over the paired runs
    treatment: Tuple
    delta: float  # mean over pairs of treatment - baseline
    delta_std: float
    ahead: int  # pairs where the treatment is higher
    t: Optional[float]  # delta / (delta_std / sqrt(pairs)); None for one pair or no spread
    pooled_std: Optional[float]

    @property
    def delta_in_pooled_std(self) -> Optional[float]:
        return self.delta / self.pooled_std if self.pooled_std else None


def _group(condition: str, prefix: str) -> Optional[str]:
    if condition == prefix:
        return ''
    return condition[len(prefix) + 1:] if condition.startswith(prefix + '-') else None


def paired_delta(studies: Sequence[Sequence[Dict[str, str]]], baseline: str, treatment: str,
                 metric: str = 'test_mAP') -> PairedDelta:
    """Pair the ``ok`` rows (``results.csv`` of :mod:`run_study`) of each study by (group, seed); see the module."""
    runs: Dict[str, Dict[Tuple, float]] = {baseline: {}, treatment: {}}
    for index, rows in enumerate(studies):
        for row in rows:
            if row.get('status') != 'ok' or not row.get(metric):
                continue
            # the longer prefix first: baseline 'cc8' must not claim treatment 'cc8-frozen''s runs
            for prefix in sorted((baseline, treatment), key=len, reverse=True):
                group = _group(row['condition'], prefix)
                if group is not None:
                    runs[prefix][(index, group, int(row['seed']))] = float(row[metric])
                    break
    keys = sorted(set(runs[baseline]) & set(runs[treatment]))
    if not keys:
        raise ValueError(f'no pairs: no study has ok runs of both {baseline!r} and {treatment!r} with the same group '
                         'and seed (conditions named PREFIX or PREFIX-GROUP)')
    base = [runs[baseline][k] for k in keys]
    treated = [runs[treatment][k] for k in keys]
    deltas = [t - b for t, b in zip(treated, base)]
    delta_std = statistics.stdev(deltas) if len(deltas) > 1 else 0.0
    t = statistics.fmean(deltas) / (delta_std / math.sqrt(len(deltas))) if delta_std else None
    # pooled within-group variance of both conditions over the paired runs
    squares, dof = 0.0, 0
    for values in (base, treated):
        by_group: Dict[Tuple, List[float]] = {}
        for key, value in zip(keys, values):
            by_group.setdefault(key[:2], []).append(value)
        for group_values in by_group.values():
            if len(group_values) > 1:
                squares += statistics.variance(group_values) * (len(group_values) - 1)
                dof += len(group_values) - 1
    return PairedDelta(len(keys), len({k[:2] for k in keys}), mean_std(base), mean_std(treated),
                       statistics.fmean(deltas), delta_std, sum(d > 0 for d in deltas), t,
                       math.sqrt(squares / dof) if dof else None)

