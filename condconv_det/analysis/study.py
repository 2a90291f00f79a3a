"""Seeded experiment studies: conditions × seeds run through the normal tools, summarised as mean ± std.

A *study file* is an mmengine config (``.py``) with::

    work_dir = 'work_dirs/studies/NAME'        # each run in work_dir/<condition>/seed<k> (checkpoints, logs)
    results_dir = 'docs/studies/NAME'          # results.csv, cost.csv, summary.md, summary.png (small: commit it)
    seeds = [0, 1]                             # default seeds of every condition
    prepare = [dict(cmd='python tools/...', creates='checkpoints/x.pth')]   # run once unless `creates` exists
    # a step with needed_by=['condconv'] runs only when a run of one of those conditions is to be done (``--only``)
    conditions = [
        dict(name='static', config='configs/.../a.py'),
        dict(name='condconv', config='configs/.../b.py', cfg_options={'model.bbox_head.num_experts': 4},
             seeds=[0, 1, 2]),
    ]

A study file may inherit another with ``_base_`` (mmengine's rules: lists such as ``conditions`` are replaced);
names starting with ``_`` are the file's own helpers. ``results.csv`` is the study's memory: a run with a row there is not run again (a failed one only with
``retry_failed``), so a killed study, or one split across sessions, continues where it stopped.
"""
import csv
import math
import os
import os.path as osp
import statistics
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

STUDY_KEYS = {'work_dir', 'results_dir', 'seeds', 'prepare', 'conditions'}
PREPARE_KEYS = {'cmd', 'creates', 'needed_by'}
CONDITION_KEYS = {'name', 'config', 'cfg_options', 'seeds', 'routing_analysis', 'note'}
METRICS = ('test_mAP', 'test_mAP50', 'val_mAP', 'val_mAP50', 'final_loss', 'train_minutes', 'backbone_routing_std',
           'head_routing_std', 'backbone_constant_fraction', 'backbone_eta2', 'head_eta2')
RESULT_COLUMNS = ('condition', 'seed', 'status') + METRICS + ('checkpoint', 'log', 'error')
COST_COLUMNS = ('condition', 'madds_g', 'params_m', 'latency_ms', 'latency_ratio', 'error')


class StudyError(ValueError):
    """A study file that cannot be run; the message names the entry and the fix."""


@dataclass
class Condition:
    name: str
    config: str
    seeds: List[int]
    cfg_options: Dict[str, Any] = field(default_factory=dict)
    routing_analysis: Optional[bool] = None  # None: when the model has CondConv layers
    note: str = ''


@dataclass
class Study:
    path: str
    work_dir: str
    results_dir: str
    conditions: List[Condition]
    prepare: List[Dict[str, str]] = field(default_factory=list)

    def run_dir(self, condition: str, seed: int) -> str:
        return osp.join(self.work_dir, condition, f'seed{seed}')

    def runs(self) -> List[tuple]:
        """Every ``(condition, seed)``, seeds outermost: a study stopped half-way has every condition at seed 0."""
        order = sorted({s for c in self.conditions for s in c.seeds})
        return [(c, s) for s in order for c in self.conditions if s in c.seeds]


def load_study(path: str) -> Study:
    """Read and check a study file; relative paths are relative to the current directory (the repository)."""
    from mmengine.config import Config
    if not osp.isfile(path):
        raise StudyError(f'study file {path} not found')
    cfg = Config.fromfile(path).to_dict()
    unknown = {k for k in cfg if not k.startswith('_')} - STUDY_KEYS  # _names: the file's own helpers
    if unknown:
        raise StudyError(f'{path}: unknown keys {sorted(unknown)}; a study file has {sorted(STUDY_KEYS)}')
    if 'work_dir' not in cfg or not cfg.get('conditions'):
        raise StudyError(f'{path}: needs work_dir and a non-empty list of conditions')
    default_seeds = cfg.get('seeds')
    conditions, names = [], set()
    for i, entry in enumerate(cfg['conditions']):
        where = f'{path}: condition {i} ({entry.get("name", "unnamed")})'
        unknown = set(entry) - CONDITION_KEYS
        if unknown:
            raise StudyError(f'{where}: unknown keys {sorted(unknown)}; a condition has {sorted(CONDITION_KEYS)}')
        if not entry.get('name') or not entry.get('config'):
            raise StudyError(f'{where}: needs a name and a config')
        if entry['name'] in names:
            raise StudyError(f'{where}: the name {entry["name"]!r} is used twice')
        if os.sep in entry['name'] or entry['name'].startswith('.'):
            raise StudyError(f'{where}: the name becomes a folder; use letters, digits, - and _')
        names.add(entry['name'])
        if not osp.isfile(entry['config']):
            raise StudyError(f'{where}: config {entry["config"]} not found (paths are relative to {os.getcwd()})')
        seeds = entry.get('seeds', default_seeds)
        if not seeds or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
            raise StudyError(f'{where}: no seeds; give the condition `seeds=[0, 1]` or the study a `seeds` list '
                             '(at least one int; two or more for a std)')
        conditions.append(Condition(entry['name'], entry['config'], list(seeds), dict(entry.get('cfg_options') or {}),
                                    entry.get('routing_analysis'), entry.get('note', '')))
    for step in cfg.get('prepare') or []:
        if not isinstance(step, dict) or 'cmd' not in step or set(step) - PREPARE_KEYS:
            raise StudyError(f'{path}: a prepare step must be dict(cmd=..., creates=..., needed_by=[conditions]), '
                             f'got {step!r}')
        if set(step.get('needed_by') or []) - names:
            raise StudyError(f'{path}: prepare step {step["cmd"]!r} is needed_by unknown conditions '
                             f'{sorted(set(step["needed_by"]) - names)}; the study has {sorted(names)}')
    return Study(path, cfg['work_dir'], cfg.get('results_dir') or cfg['work_dir'], conditions,
                 list(cfg.get('prepare') or []))


# ------------------------------------------------------------------------------------------------------ results
def read_rows(path: str) -> List[Dict[str, str]]:
    if not osp.isfile(path):
        return []
    with open(path, newline='') as file:
        return list(csv.DictReader(file))


def write_rows(path: str, rows: Sequence[Dict[str, Any]], columns: Sequence[str]) -> None:
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    tmp = path + '.tmp'
    with open(tmp, 'w', newline='') as file:
        writer = csv.DictWriter(file, fieldnames=list(columns), extrasaction='ignore')
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _fmt(row.get(k)) for k in columns})
    os.replace(tmp, path)  # a kill while writing never leaves a half-written results.csv


def upsert_row(path: str, row: Dict[str, Any], columns: Sequence[str], keys: Sequence[str]) -> None:
    """Replace the row with the same ``keys`` values (or append it)."""
    rows = [r for r in read_rows(path) if any(str(r[k]) != str(row[k]) for k in keys)]
    rows.append(row)
    write_rows(path, rows, columns)


def _fmt(value: Any) -> str:
    if value is None:
        return ''
    if isinstance(value, float):
        return '' if math.isnan(value) else f'{value:.6g}'
    return str(value)


def _number(value: Any) -> Optional[float]:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def mean_std(values: Sequence[float]) -> tuple:
    """Mean and sample std (``n - 1``; 0 for one value) of the non-missing values, and their count."""
    numbers = [v for v in (_number(x) for x in values) if v is not None]
    if not numbers:
        return None, None, 0
    return statistics.fmean(numbers), statistics.stdev(numbers) if len(numbers) > 1 else 0.0, len(numbers)


def summarise(study: Study, rows: Sequence[Dict[str, str]], costs: Sequence[Dict[str, str]]) -> List[Dict[str, Any]]:
    """Per condition, in study order: runs ok / failed / pending, mean and std of every metric, cost columns, and the
    test-mAP difference to the first condition in units of the pooled seed std."""
    by_condition: Dict[str, List[Dict[str, str]]] = {}
    for row in rows:
        by_condition.setdefault(row['condition'], []).append(row)
    cost_by = {c['condition']: c for c in costs}
    summary = []
    for condition in study.conditions:
        runs = [r for r in by_condition.get(condition.name, []) if int(r['seed']) in condition.seeds]
        ok = sorted((r for r in runs if r['status'] == 'ok'), key=lambda r: int(r['seed']))
        entry: Dict[str, Any] = dict(condition=condition.name, config=condition.config, seeds=condition.seeds,
                                     ok=len(ok), failed=[int(r['seed']) for r in runs if r['status'] == 'failed'],
                                     pending=len(condition.seeds) - len(runs), note=condition.note,
                                     per_seed={m: [_number(r.get(m)) for r in ok] for m in METRICS},
                                     ok_seeds=[int(r['seed']) for r in ok])
        for metric in METRICS:
            entry[metric] = mean_std([r.get(metric) for r in ok])
        cost = cost_by.get(condition.name, {})
        for key in COST_COLUMNS[1:-1]:
            entry[key] = _number(cost.get(key))
        summary.append(entry)
    variances = [(e['test_mAP'][1] ** 2, e['test_mAP'][2] - 1) for e in summary if e['test_mAP'][2] >= 2]
    dof = sum(d for _, d in variances)
    pooled = math.sqrt(sum(v * d for v, d in variances) / dof) if dof else None
    base = summary[0]['test_mAP'][0] if summary else None
    for entry in summary:
        mean = entry['test_mAP'][0]
        entry['delta_mAP'] = None if mean is None or base is None else mean - base
        entry['delta_in_pooled_std'] = (entry['delta_mAP'] / pooled) if entry['delta_mAP'] is not None and pooled \
            else None
        entry['pooled_std'] = pooled
    return summary


def _pm(stat: tuple, scale: float = 1.0, digits: int = 3) -> str:
    mean, std, n = stat
    if mean is None:
        return '–'
    return f'{mean * scale:.{digits}f} ± {std * scale:.{digits}f}' if n > 1 else f'{mean * scale:.{digits}f}'


def markdown_table(summary: Sequence[Dict[str, Any]], study: Study) -> str:
    """The study's table: mean ± std (sample std over seeds) per condition, per-seed test mAP, routing, cost."""
    pooled = summary[0]['pooled_std'] if summary else None
    lines = [
        f'Study `{study.path}`: mean ± std over seeds (sample std); Δ = test mAP minus the first condition\'s, in '
        f'mAP points and in units of the pooled seed std ({"n/a" if pooled is None else f"{pooled * 100:.2f} points"}'
        '); routing std = std across test images of the routing weights (mean over experts and layers); η² = class '
        'specificity (mean over layers); latency = CPU batch-1, ratio to the first condition, same run.',
        '',
        '| condition | runs | test mAP | per seed | Δ (pts, ×pooled std) | test mAP50 | val mAP | final loss | '
        'backbone routing std (const. frac.) | head routing std | η² bb / head | MADDs (G) | params (M) | '
        'latency | train min |',
        '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ]
    for e in summary:
        runs = f'{e["ok"]}/{len(e["seeds"])}'
        if e['failed']:
            runs += f' (failed: seeds {e["failed"]})'
        if e['pending']:
            runs += f' ({e["pending"]} pending)'
        per_seed = ' / '.join(f'{v:.3f}' for v in e['per_seed']['test_mAP'] if v is not None) or '–'
        delta = '–' if e['delta_mAP'] is None else f'{e["delta_mAP"] * 100:+.1f}'
        if e['delta_in_pooled_std'] is not None:
            delta += f' ({e["delta_in_pooled_std"]:+.1f}×)'
        bb_std = _pm(e['backbone_routing_std'], digits=4)
        if e['backbone_constant_fraction'][0] is not None:
            bb_std += f' ({e["backbone_constant_fraction"][0]:.2f})'
        eta = f'{_pm(e["backbone_eta2"], digits=3)} / {_pm(e["head_eta2"], digits=3)}'
        cost = [('–' if e[k] is None else f'{e[k]:.3f}') for k in ('madds_g', 'params_m')]
        latency = '–' if e['latency_ratio'] is None else f'{e["latency_ratio"]:.2f}×'
        lines.append(f'| {e["condition"]} | {runs} | {_pm(e["test_mAP"])} | {per_seed} | {delta} | '
                     f'{_pm(e["test_mAP50"])} | {_pm(e["val_mAP"])} | {_pm(e["final_loss"], digits=2)} | {bb_std} | '
                     f'{_pm(e["head_routing_std"], digits=4)} | {eta} | {cost[0]} | {cost[1]} | {latency} | '
                     f'{_pm(e["train_minutes"], digits=1)} |')
    lines.append('')
    lines.append('Conditions:')
    for condition in study.conditions:
        options = ' '.join(f'{k}={v}' for k, v in condition.cfg_options.items())
        lines.append(f'- `{condition.name}`: `{condition.config}`' + (f' `--cfg-options {options}`' if options else '')
                     + (f' — {condition.note}' if condition.note else ''))
    return '\n'.join(lines) + '\n'


def plot_summary(summary: Sequence[Dict[str, Any]], path: str, title: str = '') -> str:
    """Bar chart of test mAP and mAP50 (mean ± std, seeds as dots) per condition."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    names = [e['condition'] for e in summary]
    fig, axes = plt.subplots(1, 2, figsize=(max(6.0, 1.1 * len(names) + 2), 4.2), squeeze=False)
    for ax, metric, label in zip(axes[0], ('test_mAP', 'test_mAP50'), ('test mAP', 'test mAP50')):
        means = [e[metric][0] if e[metric][0] is not None else 0.0 for e in summary]
        stds = [e[metric][1] or 0.0 for e in summary]
        ax.bar(range(len(names)), means, yerr=stds, capsize=4, color='#8fb3d9', edgecolor='#305080')
        seen = []
        for i, e in enumerate(summary):
            values = [v for v in e['per_seed'][metric] if v is not None]
            ax.plot([i] * len(values), values, 'k.', markersize=5)
            seen += values
        if seen:
            low, high = min(seen), max(seen)
            pad = max(0.01, (high - low) * 0.5)
            ax.set_ylim(max(0.0, low - pad), high + pad)
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=35, ha='right', fontsize=8)
        ax.set_ylabel(label)
        ax.grid(axis='y', alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    os.makedirs(osp.dirname(path) or '.', exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# --------------------------------------------------------------------------------------------- run outputs
def last_scalars(scalars_json: str) -> Dict[str, float]:
    """The last value of every key in mmengine's ``vis_data/scalars.json`` (one JSON object per line)."""
    import json
    values: Dict[str, float] = {}
    if not osp.isfile(scalars_json):
        return values
    with open(scalars_json) as file:
        for line in file:
            line = line.strip()
            if line:
                for key, value in json.loads(line).items():
                    if isinstance(value, (int, float)):
                        values[key] = float(value)
    return values


def routing_summary(layers_csv: str) -> Dict[str, Optional[float]]:
    """Backbone / head means of ``routing_analysis.py``'s per-layer csv: routing std across images, fraction of
    backbone layers with ~constant routing, and class specificity η²."""
    rows = read_rows(layers_csv)
    out: Dict[str, Optional[float]] = {}
    for part, prefix in (('backbone', 'backbone.'), ('head', 'bbox_head.')):
        layers = [r for r in rows if r['name'].startswith(prefix)]
        out[f'{part}_routing_std'] = mean_std([r['mean_std_across_images'] for r in layers])[0]
        out[f'{part}_eta2'] = mean_std([r['eta_squared'] for r in layers])[0]
        if part == 'backbone':
            out['backbone_constant_fraction'] = mean_std([r['constant'] for r in layers])[0]
    return out


__all__ = [
    'Condition', 'Study', 'StudyError', 'load_study', 'read_rows', 'write_rows', 'upsert_row', 'mean_std',
    'summarise', 'markdown_table', 'plot_summary', 'last_scalars', 'routing_summary', 'RESULT_COLUMNS',
    'COST_COLUMNS', 'METRICS'
]
