#!/usr/bin/env python
"""What the CondConv routing of a trained detector has learned, over a dataset split.

    python tools/analysis/routing_analysis.py CONFIG CHECKPOINT [--split val|test] [--out-dir DIR]
        [--max-images N] [--device cpu|cuda] [--batch-size B] [--assign area|presence|boxes] [--bins 20]
        [--cfg-options k=v ...]

Runs the model (``forward(mode='tensor')``: backbone, neck and head, no post-processing) over the split's dataloader
with a progress bar, records the routing vector of every routing module (per-layer, block-shared and the head's
per-level routing) with forward hooks, and streams them into per-layer statistics (memory independent of the number
of images). Writes to ``--out-dir``:

- ``routing_stats.json`` (every number), ``routing_layers.csv`` (one row per layer: class specificity eta²/epsilon²,
  entropy, near-0/near-1 fractions, bimodality coefficient, …), ``routing_class_means.csv``;
- ``routing_class_means.png``, ``routing_class_specificity.png``, ``routing_histograms.png``,
  ``routing_expert_usage.png``.

It also reports how far apart each CondConv layer's experts are (``expert_spread`` in the JSON, a line per model part
in the report): routing can only choose between experts that differ (``condconv_det/analysis/expert_spread.py``).

Class assignment: routing is one vector per image (global average pooling over the whole feature map, for the
backbone blocks and for each head level alike), so each image's vector goes to one class: the class of its
ground-truth boxes covering the largest total area (``--assign area``, default; ties: more boxes). ``--assign
presence`` credits it once to every class among the boxes, ``--assign boxes`` once per box; with cluttered
multi-class images these make the class means alike by construction. Images without boxes count for the class-free
statistics only. A per-box (RoI) assignment would only apply to a two-stage detector with a CondConv RoI head; the
plugin's CondConv heads route per image and pyramid level.
"""
import argparse
import json
import os.path as osp
import sys
import time
from typing import Any, Dict, List, Optional

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='CondConv routing analysis over a dataset split')
    parser.add_argument('config', help='model config')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--split', choices=('val', 'test'), default='val', help='dataloader of the config to run')
    parser.add_argument('--out-dir', help='output folder (default work_dirs/routing_analysis/<config name>)')
    parser.add_argument('--max-images', type=int, help='stop after this many images')
    parser.add_argument('--device', default='cpu', help="'cpu', 'cuda' or 'cuda:N'")
    parser.add_argument('--batch-size', type=int, help="override the split's batch size")
    parser.add_argument('--num-workers', type=int, help="override the split's dataloader workers")
    parser.add_argument('--assign', choices=('area', 'presence', 'boxes'), default='area',
                        help='class of an image: its GT class of largest box area (area), every GT class once '
                        '(presence) or once per box (boxes)')
    parser.add_argument('--bins', type=int, default=20, help='histogram bins over [0, 1]')
    parser.add_argument('--dpi', type=int, default=110, help='figure resolution')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings (k=v)')
    return parser.parse_args(argv)


def ensure_annotations_loaded(pipeline: List[Dict]) -> List[Dict]:
    """The class assignment needs GT labels: add ``LoadAnnotations`` before ``PackDetInputs`` if the (test)
    pipeline lacks it."""
    if any(step.get('type') in ('LoadAnnotations', 'mmdet.LoadAnnotations') for step in pipeline):
        return pipeline
    pack = next((i for i, step in enumerate(pipeline) if 'PackDetInputs' in str(step.get('type'))), len(pipeline))
    return pipeline[:pack] + [dict(type='LoadAnnotations', with_bbox=True)] + pipeline[pack:]


def build_dataloader(cfg: Any, split: str, batch_size: Optional[int], num_workers: Optional[int]):
    """The config's ``<split>_dataloader`` with GT annotations loaded, optionally re-batched."""
    import copy

    from mmengine.runner import Runner
    loader_cfg = copy.deepcopy(cfg.get(f'{split}_dataloader'))
    if loader_cfg is None:
        raise ValueError(f'the config has no {split}_dataloader')
    dataset_cfg = loader_cfg['dataset']
    while 'pipeline' not in dataset_cfg and 'dataset' in dataset_cfg:  # wrappers (RepeatDataset, …)
        dataset_cfg = dataset_cfg['dataset']
    dataset_cfg['pipeline'] = ensure_annotations_loaded(list(dataset_cfg['pipeline']))
    if batch_size is not None:
        loader_cfg['batch_size'] = batch_size
    if num_workers is not None:
        loader_cfg['num_workers'] = num_workers
        if num_workers == 0:
            loader_cfg['persistent_workers'] = False
    return Runner.build_dataloader(loader_cfg)


def build_model(cfg: Any, checkpoint: str, device: str):
    from mmdet.registry import MODELS
    from mmengine.runner import load_checkpoint
    model = MODELS.build(cfg.model)
    load_checkpoint(model, checkpoint, map_location='cpu')
    return model.to(device).eval()


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    args = parse_args(argv)
    import condconv_det  # noqa: F401  (registers the plugin)
    from mmdet.utils import register_all_modules
    from mmengine.config import Config
    from mmengine.utils import ProgressBar

    from condconv_det.analysis.expert_spread import expert_spread, spread_by_part
    from condconv_det.analysis.routing_plots import save_all_figures
    from condconv_det.analysis.routing_stats import collect_routing_statistics, write_numbers

    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    out_dir = args.out_dir or osp.join('work_dirs', 'routing_analysis', osp.splitext(osp.basename(args.config))[0])
    model = build_model(cfg, args.checkpoint, args.device)
    dataloader = build_dataloader(cfg, args.split, args.batch_size, args.num_workers)
    class_names = list(dataloader.dataset.metainfo['classes'])
    total = len(dataloader.dataset) if args.max_images is None else min(args.max_images, len(dataloader.dataset))
    progress = ProgressBar(total)
    start = time.time()
    stats = collect_routing_statistics(model, dataloader, class_names, max_images=args.max_images,
                                       assign=args.assign, num_bins=args.bins,
                                       progress=progress.update)
    summary = stats.summary(args.assign)
    spread = expert_spread(model)
    summary.update(config=args.config, checkpoint=args.checkpoint, split=args.split,
                   seconds=round(time.time() - start, 1),
                   expert_spread=dict(layers=spread, parts=spread_by_part(spread)))
    paths = write_numbers(summary, out_dir)
    paths.update(save_all_figures(summary, out_dir, dpi=args.dpi))
    print()
    print(format_report(summary))
    print(json.dumps(paths, indent=1))
    return summary


def format_report(summary: Dict[str, Any]) -> str:
    """A short text table: class specificity, bimodality and entropy per layer, then the depth trend."""
    lines = [f"{summary['images']} images ({summary['images_without_gt']} without GT boxes), "
             f"{len(summary['layers'])} routing modules, classes {summary['class_names']}, assign={summary['assign']}",
             f"{'depth':>5} {'layer':<32} {'eta2':>6} {'eps2':>6} {'BC':>5} {'near0':>6} {'near1':>6} {'entropy':>7}"]
    for layer in summary['layers']:
        spec = layer['specificity']
        bc = layer['bimodality_coefficient']
        label = layer['label'][:30] + (' *' if layer['constant'] else '')
        lines.append(f"{layer['depth']:>5} {label:<32} {spec['eta_squared']:6.3f} "
                     f"{spec['epsilon_squared']:6.3f} {'  n/a' if bc is None else f'{bc:5.2f}'} "
                     f"{layer['near_zero_fraction']:6.3f} {layer['near_one_fraction']:6.3f} "
                     f"{layer['mean_entropy']:7.3f}")
    if any(layer['constant'] for layer in summary['layers']):
        lines.append(f"* ~constant routing: std across images < {summary['constant_std']:g} (acts as a static conv)")
    for part, trend in summary['depth_trend'].items():
        if 'spearman_depth_epsilon_squared' in trend:
            rho = trend['spearman_depth_epsilon_squared']
            lines.append(f"{part}: {trend['layers']} layers, eta² shallow half "
                         f"{trend['shallow_half_mean_eta_squared']:.3f} vs deep half "
                         f"{trend['deep_half_mean_eta_squared']:.3f}; Spearman(depth, epsilon²) = "
                         f"{'n/a' if rho is None else f'{rho:.2f}'}")
    for part, value in summary.get('expert_spread', {}).get('parts', {}).items():
        lines.append(f"{part}: expert spread mean_i ||W_i - W_mean|| / ||W_mean|| = {value['mean']:.4f} "
                     f"(min {value['min']:.4f}, max {value['max']:.4f}, {value['layers']} CondConv layers)")
    return '\n'.join(lines)


if __name__ == '__main__':
    main()
