#!/usr/bin/env python
"""Collapse CondConv routing that does not route into static convolutions, for deployment.

    python tools/deployment/collapse_routing.py CONFIG CHECKPOINT --calib-split val [--tol 1e-3] --out DIR
        [--max-images N] [--static-config STATIC_CONFIG] [--test] [--repeats 20] [--warmup 3] [--threads N]
        [--batch-size B] [--num-workers W] [--finetune-epochs K [--finetune-lr-factor F]] [--cfg-options k=v ...]

1. Calibration: runs the model (``forward(mode='tensor')``) over the ``--calib-split`` dataloader of CONFIG (up to
   ``--max-images``) with a progress bar and measures, per routing module, the per-expert std and max ``|r_i|`` over
   images, and which CondConv2d layers receive its output (``condconv_det.models.utils.calibrate_routing``).
2. Decisions, printed per routing module: ``collapse`` when its std across images (max over experts) is below
   ``--tol``: every CondConv2d it feeds becomes a static conv with the mean-mixed kernel ``Σ_i r̄_i W_i`` and bias
   ``Σ_i r̄_i b_i``, and the routing module is removed; else ``drop experts`` whose ``max |r_i|`` over the images is
   below ``--tol``; else ``keep``. ``--tol 0`` changes nothing.
3. Writes ``DIR/<config name>_collapsed.py`` (``model = dict(type='RoutingCollapsedModel', model=<CONFIG's model>,
   plan=[...])``: the original model with the decisions applied, same keys minus the removed routing),
   ``DIR/<config name>_collapsed.pth`` (mmengine checkpoint: ``state_dict`` + ``meta``) and
   ``DIR/<config name>_collapse.json`` (decisions and figures). ``tools/test.py``,
   ``tools/analysis/benchmark_detector.py`` and ``tools/deployment/pytorch2onnx.py`` load them as any config and
   checkpoint. With ``--finetune-epochs K`` the collapsed config also carries a fine-tuning schedule, so that
   ``tools/train.py DIR/<config name>_collapsed.py`` trains the collapsed model K epochs from the collapsed checkpoint
   at ``F`` × CONFIG's learning rate, cosine-decayed to 0 without warm-up (it recovers what the collapse of routing
   that varied a little cost: docs/deployment.md); without it, the config keeps CONFIG's schedule.
4. Prints, before and after (and for ``--static-config``, a static twin built with random weights): parameters,
   MADDs per image (``benchmark_detector.complexity``), batch-1 CPU latency (``benchmark_detector``'s round-robin
   timing, all models in the same rounds) and its ratio to the static model; the largest difference of the raw head
   outputs on the first calibration batch; with ``--test`` the test metrics of both through ``tools/test.py``
   (``--cfg-options`` are passed to the original's test and written into the collapsed config).
"""
import argparse
import copy
import glob
import json
import os
import os.path as osp
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional

import torch

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(REPO_ROOT / 'tools' / 'analysis'))

SPLITS = ('val', 'test', 'train')


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='Collapse CondConv routing that does not route (deploy time)')
    parser.add_argument('config', help='config of the CondConv model')
    parser.add_argument('checkpoint', help='its checkpoint')
    parser.add_argument('--calib-split', choices=SPLITS, default='val', help='dataloader of CONFIG to calibrate on')
    parser.add_argument('--tol', type=float, default=1e-3,
                        help='collapse routing whose std across images is below this; drop experts whose weight '
                        'stays below it on every image (0: change nothing)')
    parser.add_argument('--out', required=True, help='output folder')
    parser.add_argument('--max-images', type=int, help='calibrate on at most this many images (>= 2)')
    parser.add_argument('--static-config', help='static twin of CONFIG: latency ratios are to this model')
    parser.add_argument('--test', action='store_true', help='test both models through tools/test.py')
    parser.add_argument('--repeats', type=int, default=20, help='timed batch-1 runs per model (median)')
    parser.add_argument('--warmup', type=int, default=3, help='untimed rounds before timing')
    parser.add_argument('--threads', type=int, help='torch.set_num_threads')
    parser.add_argument('--batch-size', type=int, help="override the calibration split's batch size")
    parser.add_argument('--num-workers', type=int, help="override the calibration split's dataloader workers")
    parser.add_argument('--finetune-epochs', type=int,
                        help='write a K-epoch fine-tuning schedule into the collapsed config (tools/train.py on it '
                        'fine-tunes from the collapsed checkpoint)')
    parser.add_argument('--finetune-lr-factor', type=float, default=1.0,
                        help="the fine-tuning learning rate as a factor of CONFIG's (default 1.0: on BCCD it won back "
                        "more of the collapse than 0.3 or 0.1, docs/experiments.md)")
    parser.add_argument('--cfg-options', nargs='+', metavar='K=V', help='override config settings (k=v)')
    args = parser.parse_args(argv)
    options = argparse.Namespace()
    DictAction([], 'cfg_options')(parser, options, args.cfg_options)  # mmengine's k=v parsing; raw strings kept
    args.cfg_options_dict = options.cfg_options
    from condconv_det.models.utils import check_tolerance
    try:
        check_tolerance(args.tol)
    except ValueError as error:
        parser.error(f'--tol: {error}')
    if args.max_images is not None and args.max_images < 2:
        parser.error(f'--max-images must be >= 2 (routing variation needs two images), got {args.max_images}')
    if args.repeats < 1 or args.warmup < 0:
        parser.error('--repeats must be >= 1 and --warmup >= 0')
    if args.finetune_epochs is not None and args.finetune_epochs < 1:
        parser.error(f'--finetune-epochs must be >= 1, got {args.finetune_epochs}')
    if not 0 < args.finetune_lr_factor <= 1:
        parser.error(f'--finetune-lr-factor must be in (0, 1], got {args.finetune_lr_factor}')
    return args


def load_model(cfg: Any, config: str, checkpoint: str):
    """CONFIG's model with CHECKPOINT loaded strictly; clear errors for a model without CondConv and for a
    checkpoint of another architecture. Returns ``(model, checkpoint dict)``."""
    from mmdet.registry import MODELS
    from mmengine.runner.checkpoint import load_state_dict

    from condconv_det.layers import CondConv2d
    from condconv_det.utils.checkpoint_checks import check_checkpoint_matches, load_checkpoint_file
    model = MODELS.build(copy.deepcopy(cfg.model))
    if not any(isinstance(module, CondConv2d) for module in model.modules()):
        raise ValueError(f'{config}: its model has no CondConv2d layer (num_experts=0 everywhere?), so there is no '
                         'routing to collapse')
    check_checkpoint_matches(model, checkpoint, ignore=[r'_extra_state$'])  # names the file and the mismatched keys
    loaded = load_checkpoint_file(checkpoint)
    state = loaded.get('state_dict', loaded)
    load_state_dict(model, {k[len('module.'):] if k.startswith('module.') else k: v for k, v in state.items()},
                    strict=True)
    return model.eval(), loaded


def decision_text(decision: Dict[str, Any], num_experts: int) -> str:
    if decision['action'] == 'collapse':
        return 'collapse'
    if decision['action'] == 'drop_experts':
        keep = decision['keep_experts']
        dropped = [index for index in range(num_experts) if index not in keep]
        return f'drop experts {dropped} ({len(keep)} of {num_experts} kept)'
    return 'keep' + (f" ({decision['reason']})" if decision.get('reason') else '')


def format_decisions(decisions: List[Dict[str, Any]], calibration: Dict[str, Dict[str, Any]], tol: float) -> str:
    width = max([len('routing module')] + [len(d['routing']) for d in decisions])
    lines = [f'{"routing module":<{width}}  {"E":>2}  {"convs":>5}  {"std":>9}  {"max":>9}  decision (tol={tol:g})']
    for decision in decisions:
        experts = calibration[decision['routing']]['num_experts']
        lines.append(f"{decision['routing']:<{width}}  {experts:>2}  {len(decision['convs']):>5}  "
                     f"{decision['std']:9.3g}  {decision['max']:9.3g}  {decision_text(decision, experts)}")
    counts = {action: sum(d['action'] == action for d in decisions) for action in ('collapse', 'drop_experts', 'keep')}
    lines.append(f"std: largest per-expert std of the routing across images; max: the least used expert's largest "
                 f"|r_i| over the images. {counts['collapse']} collapsed, {counts['drop_experts']} with experts "
                 f"dropped, {counts['keep']} kept, of {len(decisions)} routing modules.")
    return '\n'.join(lines)


def set_finetune_schedule(cfg: Any, epochs: int, lr_factor: float) -> None:
    """``cfg`` trains ``epochs`` epochs at ``lr_factor`` × its learning rate, cosine-decayed to 0 from the first
    iteration (no warm-up: the model starts trained), validating and saving at the end."""
    cfg.train_cfg.max_epochs = epochs
    cfg.train_cfg.val_interval = epochs
    cfg.optim_wrapper.optimizer.lr = cfg.optim_wrapper.optimizer.lr * lr_factor
    cfg.param_scheduler = [dict(type='CosineAnnealingLR', begin=0, end=epochs, by_epoch=True, eta_min=0,
                                convert_to_iter_based=True)]
    cfg.default_hooks.checkpoint.interval = epochs
    cfg.resume = False


def drop_expert_scaling_without_experts(cfg: Any, model: torch.nn.Module) -> None:
    """Remove ``optim_wrapper.paramwise_cfg.condconv`` (``CondConvOptimWrapperConstructor``'s expert and routing
    multipliers) when the collapse left no CondConv2d under its ``module_prefixes``: the collapsed convolutions train
    as static ones, and the constructor refuses a setting that reaches no expert."""
    paramwise = cfg.get('optim_wrapper', {}).get('paramwise_cfg') or {}
    if not paramwise.get('condconv'):
        return
    from condconv_det.layers import CondConv2d
    prefixes = paramwise['condconv'].get('module_prefixes')
    prefixes = (prefixes, ) if isinstance(prefixes, str) else tuple(prefixes or ('', ))
    if not any(isinstance(module, CondConv2d) and name.startswith(prefixes) for name, module in model.named_modules()):
        del paramwise['condconv']


def write_collapsed(cfg: Any, model: torch.nn.Module, decisions: List[Dict[str, Any]], meta: Dict[str, Any],
                    out_dir: str, stem: str, finetune: Optional[Dict[str, Any]] = None) -> Dict[str, str]:
    """``<stem>_collapsed.py`` (``RoutingCollapsedModel`` over the original model config; with ``finetune``
    (``epochs``, ``lr_factor``) its fine-tuning schedule) and ``.pth``."""
    from mmengine.runner.checkpoint import save_checkpoint, weights_to_cpu

    from condconv_det.models.utils import config_plan
    os.makedirs(out_dir, exist_ok=True)
    paths = dict(config=osp.join(out_dir, f'{stem}_collapsed.py'),
                 checkpoint=osp.join(out_dir, f'{stem}_collapsed.pth'))
    collapsed_cfg = copy.deepcopy(cfg)  # custom_imports (condconv_det registers RoutingCollapsedModel) carried over
    collapsed_cfg.model = dict(type='RoutingCollapsedModel', model=cfg.model.to_dict(), plan=config_plan(decisions))
    collapsed_cfg.load_from = osp.abspath(paths['checkpoint'])  # training from this config starts from it
    drop_expert_scaling_without_experts(collapsed_cfg, model)
    if finetune:
        set_finetune_schedule(collapsed_cfg, finetune['epochs'], finetune['lr_factor'])
    collapsed_cfg.dump(paths['config'])
    save_checkpoint(dict(state_dict=weights_to_cpu(model.state_dict()), meta=meta), paths['checkpoint'])
    return paths


def raw_output_difference(original: torch.nn.Module, collapsed: torch.nn.Module, data_batch: Any) -> Dict[str, float]:
    """Largest ``|collapsed - original|`` of the raw head outputs (``mode='tensor'``) on one batch, and the largest
    ``|original|``."""
    import benchmark_detector as bench
    data = original.data_preprocessor(data_batch, False)
    with torch.no_grad():
        before = bench.TensorForward(original, data['data_samples'])(data['inputs'])
        after = bench.TensorForward(collapsed, data['data_samples'])(data['inputs'])
    return dict(images=int(data['inputs'].shape[0]),
                max_abs_diff=max(float((a - b).abs().max()) for a, b in zip(after, before)),
                max_abs_output=max(float(b.abs().max()) for b in before))


def newest_test_metrics(work_dir: str) -> Dict[str, float]:
    """Numeric metrics of the newest ``tools/test.py`` run under ``work_dir`` (mmengine's ``<ts>/<ts>.json``)."""
    paths = sorted(glob.glob(osp.join(work_dir, '*', '*.json')), key=osp.getmtime)
    if not paths:
        return {}
    with open(paths[-1]) as file:
        return {key: float(value) for key, value in json.load(file).items() if isinstance(value, (int, float))}


def run_test(config: str, checkpoint: str, work_dir: str, cfg_options: Optional[List[str]]) -> Dict[str, float]:
    """``tools/test.py CONFIG CHECKPOINT --work-dir work_dir``; its metrics (``RuntimeError`` if it fails)."""
    command = [sys.executable, str(REPO_ROOT / 'tools' / 'test.py'), config, checkpoint, '--work-dir', work_dir]
    if cfg_options:
        command += ['--cfg-options', *cfg_options]
    proc = subprocess.run(command, capture_output=True, text=True)
    metrics = newest_test_metrics(work_dir)
    if proc.returncode != 0 or not metrics:
        raise RuntimeError(f'tools/test.py {config} {checkpoint} failed ({proc.returncode}):\n'
                           f'{(proc.stdout + proc.stderr)[-3000:]}')
    return metrics


def format_figures(figures: Dict[str, Dict[str, Any]]) -> str:
    names = list(figures)
    rows = [('params (M)', 'params', 1e-6, '.3f'), ('MADDs per image (G)', 'madds', 1e-9, '.4f'),
            ('batch-1 CPU latency, median (ms)', 'latency_ms', 1., '.2f'),
            ('latency / static', 'latency_ratio_to_static', 1., '.3f'),
            ('latency / original', 'latency_ratio_to_original', 1., '.3f')]
    metric_keys = sorted({key for stats in figures.values() for key in stats.get('test', {})})
    shown = [key for key in metric_keys if key in ('coco/bbox_mAP', 'coco/bbox_mAP_50')] or metric_keys
    rows += [(f'test {key}', f'test:{key}', 1., '.4f') for key in shown]

    def value(stats: Dict[str, Any], key: str) -> Optional[float]:
        return stats.get('test', {}).get(key[5:]) if key.startswith('test:') else stats.get(key)

    width = max(len(row[0]) for row in rows)
    lines = [f'{"":{width}}' + ''.join(f'  {name:>10}' for name in names)]
    for label, key, scale, fmt in rows:
        cells = [value(figures[name], key) for name in names]
        if all(cell is None for cell in cells):
            continue
        lines.append(f'{label:{width}}' + ''.join('  ' + (f'{cell * scale:>10{fmt}}' if cell is not None else
                                                          f'{"":>10}') for cell in cells))
    return '\n'.join(lines)


def measure(models: Dict[str, torch.nn.Module], shape, repeats: int, warmup: int) -> Dict[str, Dict[str, Any]]:
    """Params, MADDs and batch-1 CPU latency of each model, timed round-robin in the same rounds."""
    import benchmark_detector as bench
    device = torch.device('cpu')
    figures = {name: bench.complexity(model, shape, device) for name, model in models.items()}
    samples = bench.time_round_robin({name: bench.inference_fn(model, shape, device) for name, model in models.items()},
                                     repeats, warmup, device)
    for name in models:
        figures[name]['latency_ms'] = bench.median(samples[name])
    for reference in ('static', 'original'):
        if reference in figures:
            for name in models:
                figures[name][f'latency_ratio_to_{reference}'] = figures[name]['latency_ms'] / \
                    figures[reference]['latency_ms']
    return figures


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    args = parse_args(argv)
    from condconv_det.utils.cpu_allocator import tune_glibc_malloc
    tune_glibc_malloc()  # as tools/test.py and the benchmarks: the latencies compare with theirs
    import condconv_det  # noqa: F401  (registers the plugin)
    import benchmark_detector as bench
    import routing_analysis
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config
    from mmengine.utils import ProgressBar

    from condconv_det.models.utils import apply_collapse_plan, calibrate_routing, plan_collapse
    from condconv_det.utils import without_pretrained
    if args.threads:
        torch.set_num_threads(args.threads)
    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(args.config)
    if args.cfg_options_dict:
        cfg.merge_from_dict(args.cfg_options_dict)
    model, loaded = load_model(cfg, args.config, args.checkpoint)

    dataloader = routing_analysis.build_dataloader(cfg, args.calib_split, args.batch_size, args.num_workers)
    class_names = list(dataloader.dataset.metainfo.get('classes', ()))
    total = len(dataloader.dataset) if args.max_images is None else min(args.max_images, len(dataloader.dataset))
    print(f'calibrating on {total} images of the {args.calib_split} split')
    progress = ProgressBar(total)
    calibration = calibrate_routing(model, dataloader, class_names, max_images=args.max_images,
                                    progress=progress.update)
    print()
    decisions = plan_collapse(calibration, args.tol)
    print(format_decisions(decisions, calibration, args.tol))

    collapsed = apply_collapse_plan(copy.deepcopy(model), decisions).eval()
    difference = raw_output_difference(model, collapsed, next(iter(dataloader)))
    print(f"raw head outputs on {difference['images']} calibration images: max |collapsed - original| = "
          f"{difference['max_abs_diff']:.3g} (max |original| = {difference['max_abs_output']:.3g})")

    stem = osp.splitext(osp.basename(args.config))[0]
    meta = dict(dataset_meta=(loaded.get('meta') or {}).get('dataset_meta') or dict(classes=tuple(class_names)),
                collapse_routing=dict(config=args.config, checkpoint=args.checkpoint, calib_split=args.calib_split,
                                      images=min(layer['images'] for layer in calibration.values()), tol=args.tol,
                                      decisions=decisions))
    finetune = (dict(epochs=args.finetune_epochs, lr_factor=args.finetune_lr_factor)
                if args.finetune_epochs else None)
    paths = write_collapsed(cfg, collapsed, decisions, meta, args.out, stem, finetune)
    print(f"wrote {paths['config']} and {paths['checkpoint']}")
    if finetune:
        print(f"fine-tune ({finetune['epochs']} epochs at {finetune['lr_factor']:g} x the lr): "
              f"python tools/train.py {paths['config']}")

    models = dict(original=model, collapsed=collapsed)
    if args.static_config:  # random weights: the latency does not depend on them
        static_cfg = bench.load_config(args.static_config)
        models = dict(static=MODELS.build(without_pretrained(static_cfg.model.to_dict())).eval(), **models)
    shape = bench.config_input_shape(cfg)
    figures = measure(models, shape, args.repeats, args.warmup)
    if args.test:
        figures['original']['test'] = run_test(args.config, args.checkpoint, osp.join(args.out, 'test_original'),
                                               args.cfg_options)
        figures['collapsed']['test'] = run_test(paths['config'], paths['checkpoint'],
                                                osp.join(args.out, 'test_collapsed'), None)
    static_note = ' (static: --static-config with random weights)' if args.static_config else ''
    print(f'\nbatch-1 CPU, input {shape[0]}x{shape[1]}, {torch.get_num_threads()} threads, {args.repeats} rounds'
          f'{static_note}')
    print(format_figures(figures))
    result = dict(config=args.config, checkpoint=args.checkpoint, tol=args.tol, calib_split=args.calib_split,
                  decisions=decisions, raw_output_difference=difference, figures=figures, shape=list(shape),
                  threads=torch.get_num_threads(), collapsed_config=paths['config'],
                  collapsed_checkpoint=paths['checkpoint'])
    paths['report'] = osp.join(args.out, f'{stem}_collapse.json')
    with open(paths['report'], 'w') as file:
        json.dump(result, file, indent=1)
    result['report'] = paths['report']
    return result


if __name__ == '__main__':
    try:
        main()
    except ValueError as error:  # bad input: a model without CondConv, a checkpoint of another architecture, ...
        sys.exit(f'collapse_routing.py: error: {error}')
