"""MADDs and parameters of a config's model, of a named backbone, or the paper's table for all five architectures.

    python tools/analysis/get_flops.py CONFIG [--shape H W]            # an mmdet config (model._forward, tensor mode)
    python tools/analysis/get_flops.py --backbone CondConvMobileNetV2 [--num-experts 8] [--num-classes 1000]
    python tools/analysis/get_flops.py --table                          # baseline vs CondConv, 224×224 + classifier

MADDs are multiply-adds per example (mmengine's flop counter counts one MAC as one flop) including, for CondConv,
routing (pool + FC), kernel mixing (E·P) and the conv once per example; BN is folded (not counted) unless
``--count-bn``. See :mod:`condconv_det.analysis.complexity`.
"""
import argparse
import json
import os.path as osp
import sys
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))
import condconv_det  # noqa: E402,F401  (registers the plugin)
from condconv_det.analysis import get_madds, get_model_complexity_info  # noqa: E402

# (backbone type, extra args, experts, paper baseline MADDs (M), paper CondConv MADDs (M))
PAPER_TABLE: List[Tuple[str, Dict, int, float, float]] = [
    ('CondConvMobileNetV1', {}, 8, 567, 600),
    ('CondConvMobileNetV2', {}, 8, 301, 329),
    ('CondConvMnasNet', {}, 8, 312, 325),
    ('CondConvResNet', dict(depth=50), 8, 4093, 4213),
    ('CondConvEfficientNet', {}, 8, 391, 413),
    ('CondConvEfficientNet', {}, 4, 391, 402),
]


def build_backbone(name: str, num_experts: int, num_classes: int = 1000, **kwargs) -> nn.Module:
    from mmdet.registry import MODELS
    return MODELS.build(dict(type=name, num_experts=num_experts, num_classes=num_classes, **kwargs))


def paper_table(shape: Sequence[int] = (224, 224), count_bn: bool = False) -> List[Dict]:
    """Baseline (``num_experts=0``) and CondConv MADDs of every architecture, next to the paper's figures."""
    rows = []
    for name, kwargs, experts, paper_base, paper_cond in PAPER_TABLE:
        base = get_madds(build_backbone(name, 0, **kwargs), (3, *shape), count_bn=count_bn)
        cond = get_madds(build_backbone(name, experts, **kwargs), (3, *shape), count_bn=count_bn)
        rows.append(
            dict(
                backbone=name + (f"(depth={kwargs['depth']})" if 'depth' in kwargs else ''),
                experts=experts,
                paper_base=paper_base,
                base=base['madds'] / 1e6,
                paper_cond=paper_cond,
                cond=cond['madds'] / 1e6,
                base_params=base['params'] / 1e6,
                cond_params=cond['params'] / 1e6))
    return rows


def format_table(rows: List[Dict]) -> str:
    head = (f"{'backbone':<30}{'E':>3} | {'paper':>7}{'ours':>9}{'diff':>8} | {'paper':>7}{'ours':>9}{'diff':>8} | "
            f"{'params M (static→CondConv)':>26}")
    lines = ['MADDs (M) at 224x224 with the ImageNet classifier, per example; left: static, right: CondConv', head,
             '-' * len(head)]
    for r in rows:
        d_base = (r['base'] - r['paper_base']) / r['paper_base'] * 100
        d_cond = (r['cond'] - r['paper_cond']) / r['paper_cond'] * 100
        lines.append(f"{r['backbone']:<30}{r['experts']:>3} | "
                     f"{r['paper_base']:>7.0f}{r['base']:>9.1f}{d_base:>+7.2f}% | "
                     f"{r['paper_cond']:>7.0f}{r['cond']:>9.1f}{d_cond:>+7.2f}% | "
                     f"{r['base_params']:>12.2f} → {r['cond_params']:>6.2f}")
    return '\n'.join(lines)


class _TensorModeDetector(nn.Module):
    """Trace a detector's network part (``model._forward``), as mmdet's get_flops does in tensor mode."""

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        self.detector = detector

    def forward(self, x: torch.Tensor):
        return self.detector._forward(x)


def config_complexity(config: str, shape: Sequence[int], cfg_options: Optional[Dict] = None,
                      count_bn: bool = False) -> Dict:
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmdet.registry import MODELS
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    model = MODELS.build(cfg.model)
    return get_madds(_TensorModeDetector(model), (3, *shape), count_bn=count_bn)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', nargs='?', help='mmdet config file')
    parser.add_argument('--shape', type=int, nargs='+', default=None, help='input H W (default 224 224 for a '
                        'backbone/table, 1280 800 for a config, as mmdet)')
    parser.add_argument('--backbone', help='a registered backbone type, e.g. CondConvMobileNetV2')
    parser.add_argument('--num-experts', type=int, default=8)
    parser.add_argument('--num-classes', type=int, default=1000, help='0: no classifier (detection backbone)')
    parser.add_argument('--kwargs', default='{}', help='extra backbone arguments as JSON')
    parser.add_argument('--table', action='store_true', help='paper vs ours for all five architectures')
    parser.add_argument('--count-bn', action='store_true', help='also count BatchNorm (default: folded)')
    parser.add_argument('--show-table', action='store_true', help="print mmengine's per-module table")
    args = parser.parse_args()
    if args.shape is not None:
        shape = (args.shape[0], args.shape[0]) if len(args.shape) == 1 else tuple(args.shape[:2])
    else:
        shape = (1280, 800) if args.config else (224, 224)

    if args.table:
        print(format_table(paper_table(shape, args.count_bn)))
        return
    if args.backbone:
        model = build_backbone(args.backbone, args.num_experts, args.num_classes, **json.loads(args.kwargs))
        info = get_model_complexity_info(model, (3, *shape), count_bn=args.count_bn, show_table=args.show_table)
        print(info['out_table'])
        print(f'{args.backbone} (num_experts={args.num_experts}, num_classes={args.num_classes}) '
              f'input {shape}: MADDs {info["flops"] / 1e6:.1f}M, params {info["params"] / 1e6:.2f}M')
        return
    if not args.config:
        parser.error('give a CONFIG, --backbone NAME or --table')
    result = config_complexity(args.config, shape, count_bn=args.count_bn)
    split = '=' * 30
    print(f'{split}\nInput shape: {shape}\nFlops (MADDs): {result["madds"] / 1e9:.3f}G\n'
          f'Params: {result["params"] / 1e6:.3f}M\n{split}')


if __name__ == '__main__':
    main()
