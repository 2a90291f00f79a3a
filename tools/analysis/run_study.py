#!/usr/bin/env python
"""Run a seeded study (conditions × seeds) through tools/train.py and tools/test.py and tabulate mean ± std.

    python tools/analysis/run_study.py STUDY.py [--jobs 2] [--threads 1] [--only NAME ...] [--retry-failed]
        [--no-cost] [--remeasure-cost] [--cost-only] [--report-only] [--dry-run]

The study file format is documented in :mod:`condconv_det.analysis.study` (example: ``configs/studies/``). Each run:

1. ``work_dir/<condition>/seed<k>/<condition>_seed<k>.py``: the condition's config with its ``cfg_options`` and
   ``randomness.seed=k`` merged (the exact config of the run, kept);
2. ``tools/train.py`` (log ``train.log``); a run killed after a checkpoint resumes from it (``--resume CKPT``;
   never a bare ``--resume``, which would drop ``load_from`` when no checkpoint exists yet);
3. ``tools/test.py`` on the final checkpoint (log ``test.log``): the test split's COCO metrics;
4. for CondConv models, ``tools/analysis/routing_analysis.py --split test``: routing std across images and η².

``--jobs`` runs at once with ``OMP_NUM_THREADS=--threads`` each. Results go to ``results_dir``: ``results.csv`` (one
row per run, written after each run: the study resumes from it), ``cost.csv`` (per condition: MADDs, params and
batch-1 CPU latency timed round-robin in one process, ratio to the first condition; measured once after the runs),
``summary.md`` and ``summary.png``. A failed run is recorded as failed with its log and the others go on.
"""
import argparse
import copy
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Optional, Set

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from condconv_det.analysis.study import (COST_COLUMNS, RESULT_COLUMNS, Condition, Study, StudyError,  # noqa: E402
                                         last_scalars, load_study, markdown_table, plot_summary, read_rows,
                                         routing_summary, summarise, upsert_row, write_rows)

TOOLS = REPO_ROOT / 'tools'


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('study', help='study file (.py)')
    parser.add_argument('--jobs', type=int, default=1, help='runs at the same time')
    parser.add_argument('--threads', type=int, default=1, help='OMP_NUM_THREADS of each run')
    parser.add_argument('--only', nargs='+', help='run only these conditions')
    parser.add_argument('--retry-failed', action='store_true', help='run failed runs again')
    parser.add_argument('--no-cost', action='store_true', help='skip the MADDs / params / latency measurement')
    parser.add_argument('--remeasure-cost', action='store_true', help='measure the cost again even if recorded')
    parser.add_argument('--latency-repeats', type=int, default=30, help='timed batch-1 forwards per condition')
    parser.add_argument('--report-only', action='store_true', help='only rewrite summary.md / summary.png')
    parser.add_argument('--cost-only', action='store_true',
                        help='only (re-)measure cost.csv (e.g. on an idle machine after the runs) and the report')
    parser.add_argument('--dry-run', action='store_true', help='print the runs that would be run and stop')
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.threads < 1:
        parser.error('--jobs and --threads must be >= 1')
    return args


def log(message: str) -> None:
    from mmengine.logging import print_log
    print_log(message, logger='run_study')


# ---------------------------------------------------------------------------------------------------- one run
def write_run_config(condition: Condition, seed: int, run_dir: str) -> str:
    """The condition's config with its options and the seed merged, dumped to ``run_dir/<condition>_seed<k>.py``
    (the file name becomes mmengine's experiment name in the logs)."""
    from mmengine.config import Config
    cfg = Config.fromfile(condition.config)
    options = copy.deepcopy(condition.cfg_options)
    options['randomness.seed'] = seed
    cfg.merge_from_dict(options)
    path = osp.join(run_dir, f'{condition.name}_seed{seed}.py')
    cfg.dump(path)
    return path


def has_condconv(node: Any) -> bool:
    """Whether a (model) config asks for CondConv anywhere: ``num_experts >= 1`` or a ``CondConv2d`` conv_cfg."""
    if isinstance(node, dict):
        if isinstance(node.get('num_experts'), int) and node['num_experts'] >= 1:
            return True
        if node.get('type') == 'CondConv2d':
            return True
        return any(has_condconv(v) for v in node.values())
    if isinstance(node, (list, tuple)):
        return any(has_condconv(v) for v in node)
    return False


def run_tool(args: List[str], log_path: str, threads: int) -> int:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads), PYTHONUNBUFFERED='1')
    with open(log_path, 'a') as file:
        file.write(f'\n$ {" ".join(args)}\n')
        file.flush()
        return subprocess.run([sys.executable, *args], stdout=file, stderr=subprocess.STDOUT, env=env,
                              cwd=os.getcwd()).returncode


def checkpoint_of(run_dir: str) -> Optional[str]:
    """The checkpoint mmengine's ``last_checkpoint`` file points at, if it exists."""
    pointer = osp.join(run_dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        return None
    path = open(pointer).read().strip()
    return path if osp.isfile(path) else None


def newest(pattern: str) -> Optional[str]:
    paths = sorted(glob.glob(pattern), key=osp.getmtime)
    return paths[-1] if paths else None


def test_metrics(test_dir: str) -> Dict[str, float]:
    """COCO metrics of the newest ``tools/test.py`` run under ``test_dir`` (mmengine's ``<ts>/<ts>.json``)."""
    path = newest(osp.join(test_dir, '*', '*.json'))
    if path is None:
        return {}
    with open(path) as file:
        return {k: float(v) for k, v in json.load(file).items() if isinstance(v, (int, float))}


def run_one(study: Study, condition: Condition, seed: int, threads: int) -> Dict[str, Any]:
    """Train, test and (CondConv) analyse one run; returns its results.csv row (status ok or failed)."""
    run_dir = study.run_dir(condition.name, seed)
    os.makedirs(run_dir, exist_ok=True)
    row: Dict[str, Any] = dict(condition=condition.name, seed=seed, status='failed')
    try:
        config = write_run_config(condition, seed, run_dir)
    except Exception as error:  # a bad cfg_options key, a config that does not parse
        row['error'] = f'config: {type(error).__name__}: {error}'
        return row
    train_log = osp.join(run_dir, 'train.log')
    row['log'] = train_log
    train_args = [str(TOOLS / 'train.py'), config, '--work-dir', run_dir]
    resume_from = checkpoint_of(run_dir)
    if resume_from:
        train_args += ['--resume', resume_from]
    start = time.time()
    code = run_tool(train_args, train_log, threads)
    minutes = (time.time() - start) / 60
    checkpoint = checkpoint_of(run_dir)
    if code != 0 or checkpoint is None:
        row['error'] = f'tools/train.py exited with {code}; see {train_log}'
        return row
    row['checkpoint'] = checkpoint
    row['train_minutes'] = minutes if not resume_from else None  # a resumed run's wall time is incomplete
    scalars = last_scalars(newest(osp.join(run_dir, '*', 'vis_data', 'scalars.json')) or '')
    row.update(final_loss=scalars.get('loss'), val_mAP=scalars.get('coco/bbox_mAP'),
               val_mAP50=scalars.get('coco/bbox_mAP_50'))

    test_log = osp.join(run_dir, 'test.log')
    test_dir = osp.join(run_dir, 'test')
    code = run_tool([str(TOOLS / 'test.py'), config, checkpoint, '--work-dir', test_dir], test_log, threads)
    metrics = test_metrics(test_dir)
    if code != 0 or 'coco/bbox_mAP' not in metrics:
        row.update(log=test_log, error=f'tools/test.py exited with {code}; see {test_log}')
        return row
    row.update(test_mAP=metrics['coco/bbox_mAP'], test_mAP50=metrics.get('coco/bbox_mAP_50'))

    from mmengine.config import Config
    analyse = condition.routing_analysis
    if analyse is None:
        analyse = has_condconv(Config.fromfile(config).model.to_dict())
    if analyse:
        routing_dir = osp.join(run_dir, 'routing')
        routing_log = osp.join(run_dir, 'routing.log')
        code = run_tool([str(TOOLS / 'analysis' / 'routing_analysis.py'), config, checkpoint, '--split', 'test',
                         '--out-dir', routing_dir], routing_log, threads)
        if code != 0:
            row.update(log=routing_log, error=f'routing_analysis.py exited with {code}; see {routing_log}')
            return row
        row.update(routing_summary(osp.join(routing_dir, 'routing_layers.csv')))
    row['status'] = 'ok'
    row['log'] = train_log
    return row


# ------------------------------------------------------------------------------------------------------ cost
def measure_costs(study: Study, threads: int, repeats: int) -> List[Dict[str, Any]]:
    """MADDs, params and batch-1 latency of every condition, timed round-robin in this process; a condition whose
    model does not build gets its error instead (and no ratio)."""
    import torch

    from condconv_det.utils.cpu_allocator import tune_glibc_malloc
    sys.path.insert(0, str(TOOLS / 'analysis'))
    import benchmark_detector as bench  # noqa: E402  (the project's detector benchmark: same timing rules)
    tune_glibc_malloc()
    torch.set_num_threads(threads)
    device = torch.device('cpu')
    fns, rows = {}, []
    for condition in study.conditions:
        row: Dict[str, Any] = dict(condition=condition.name)
        rows.append(row)
        try:
            cfg = bench.load_config(condition.config)
            cfg.merge_from_dict(copy.deepcopy(condition.cfg_options))
            shape = bench.config_input_shape(cfg)
            model = bench.build_detector(cfg, device)
        except Exception as error:
            row['error'] = f'{type(error).__name__}: {error}'
            log(f'cost of {condition.name} not measured: {row["error"]}')
            continue
        stats = bench.complexity(model, shape, device)
        row.update(madds_g=stats['madds'] / 1e9, params_m=stats['params'] / 1e6)
        fns[condition.name] = bench.inference_fn(model, shape, device)
    samples = bench.time_round_robin(fns, repeats, warmup=3, device=device)
    first = study.conditions[0].name
    for row in rows:
        if row['condition'] in samples:
            row['latency_ms'] = bench.median(samples[row['condition']])
            if first in samples:
                row['latency_ratio'] = row['latency_ms'] / bench.median(samples[first])
    return rows


# ------------------------------------------------------------------------------------------------------ main
def write_report(study: Study) -> Dict[str, str]:
    rows = read_rows(osp.join(study.results_dir, 'results.csv'))
    costs = read_rows(osp.join(study.results_dir, 'cost.csv'))
    summary = summarise(study, rows, costs)
    md_path = osp.join(study.results_dir, 'summary.md')
    with open(md_path, 'w') as file:
        file.write(markdown_table(summary, study))
    png_path = plot_summary(summary, osp.join(study.results_dir, 'summary.png'), title=study.path)
    return dict(markdown=md_path, png=png_path)


def run_prepare(study: Study, threads: int, conditions: Set[str]) -> None:
    """Run the prepare steps that ``conditions`` (those with runs to do) need and whose ``creates`` is missing."""
    for i, step in enumerate(study.prepare):
        creates = step.get('creates')
        needed_by = step.get('needed_by')
        if (creates and osp.exists(creates)) or not conditions or (needed_by and not conditions & set(needed_by)):
            continue
        log_path = osp.join(study.work_dir, f'prepare_{i}.log')
        os.makedirs(study.work_dir, exist_ok=True)
        log(f'prepare {i}: {step["cmd"]}')
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        with open(log_path, 'w') as file:
            code = subprocess.run(step['cmd'], shell=True, stdout=file, stderr=subprocess.STDOUT, env=env).returncode
        if code != 0 or (creates and not osp.exists(creates)):
            raise StudyError(f'prepare step {i} ({step["cmd"]}) failed with exit code {code}'
                             + (f' or did not create {creates}' if creates else '') + f'; see {log_path}')


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from mmengine.logging import MMLogger
    try:
        study = load_study(args.study)
    except StudyError as error:
        print(f'run_study: {error}', file=sys.stderr)
        return 2
    os.makedirs(study.work_dir, exist_ok=True)
    # appended to, so that a resumed study keeps the log of every invocation
    MMLogger.get_instance('run_study', log_file=osp.join(study.work_dir, 'study.log'), file_mode='a')
    results_csv = osp.join(study.results_dir, 'results.csv')
    if args.only:
        unknown = set(args.only) - {c.name for c in study.conditions}
        if unknown:
            print(f'run_study: --only names unknown conditions {sorted(unknown)}; the study has '
                  f'{[c.name for c in study.conditions]}', file=sys.stderr)
            return 2
    done = {(r['condition'], int(r['seed'])): r['status'] for r in read_rows(results_csv)}
    todo = [(c, s) for c, s in study.runs() if (not args.only or c.name in args.only)
            and (done.get((c.name, s)) is None or (args.retry_failed and done[(c.name, s)] == 'failed'))]
    if args.dry_run or args.report_only:
        for condition, seed in todo:
            print(f'would run {condition.name} seed {seed}: {condition.config}')
        if args.report_only:
            print(json.dumps(write_report(study)))
        return 0
    cost_csv = osp.join(study.results_dir, 'cost.csv')

    def record_costs() -> None:
        log('measuring MADDs, params and batch-1 latency of every condition (one process, round-robin)')
        write_rows(cost_csv, measure_costs(study, args.threads, args.latency_repeats), COST_COLUMNS)

    if args.cost_only:
        record_costs()
        print(json.dumps(write_report(study)))
        return 0
    try:
        run_prepare(study, args.threads, {c.name for c, _ in todo})
    except StudyError as error:
        log(f'run_study: {error}')
        return 2
    lock = threading.Lock()
    log(f'{len(todo)} runs to do ({len(done)} recorded in {results_csv}), {args.jobs} at once, '
        f'{args.threads} thread(s) each')

    def work(item):
        condition, seed = item
        log(f'start {condition.name} seed {seed} ({study.run_dir(condition.name, seed)})')
        row = run_one(study, condition, seed, args.threads)
        with lock:
            upsert_row(results_csv, row, RESULT_COLUMNS, ('condition', 'seed'))
            write_report(study)
        if row['status'] == 'ok':
            log(f'done {condition.name} seed {seed}: test mAP {row["test_mAP"]:.4f}')
        else:
            log(f'FAILED {condition.name} seed {seed}: {row.get("error")}')
        return row

    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        finished = list(pool.map(work, todo))
    recorded = {r['condition'] for r in read_rows(cost_csv)}
    if not args.no_cost and (args.remeasure_cost or recorded != {c.name for c in study.conditions}):
        record_costs()
    paths = write_report(study)
    failed = [r for r in finished if r['status'] != 'ok']
    log(f'{len(finished) - len(failed)} runs ok, {len(failed)} failed; {paths["markdown"]}, {paths["png"]}')
    for row in failed:
        log(f'  failed: {row["condition"]} seed {row["seed"]}: {row.get("error")}')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
