"""Cost of CondConv against the number of experts (the paper's RQ2, cost side): MADDs, parameters, CPU latency.

    python tools/analysis/experts_sweep.py [--backbone CondConvMobileNetV2] [--experts 1 2 4 8 16 32] \
        [--shape 224 224] [--num-classes 1000] [--runs 20] [--threads 1] [--out work_dirs/experts_sweep.png]

E = 0 (the static network) is measured as the reference. Latency: batch 1, eval mode, ``torch.no_grad``, median of
``--runs`` timed forwards after warm-up (rounds interleaved over the models), ``--threads`` intra-op threads.
"""
import argparse
import json
import os
import os.path as osp
import statistics
import sys
import time
from typing import Dict, List, Sequence

import torch

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))
import condconv_det  # noqa: E402,F401
from condconv_det.analysis import get_madds  # noqa: E402


@torch.no_grad()
def cpu_latencies_ms(models: Sequence[torch.nn.Module], shape: Sequence[int], runs: int = 20,
                     warmup: int = 3) -> List[float]:
    """Median batch-1 forward time of each model; rounds are interleaved over the models so that load drift on a
    shared machine hits every model alike."""
    x = torch.randn(1, 3, *shape)
    for model in models:
        model.eval()
        for _ in range(warmup):
            model(x)
    times: List[List[float]] = [[] for _ in models]
    for _ in range(runs):
        for i, model in enumerate(models):
            start = time.perf_counter()
            model(x)
            times[i].append((time.perf_counter() - start) * 1e3)
    return [statistics.median(t) for t in times]


def sweep(backbone: str, experts: Sequence[int], shape: Sequence[int], num_classes: int, runs: int,
          kwargs: Dict) -> List[Dict]:
    from mmdet.registry import MODELS
    rows, models = [], []
    for e in [0, *experts]:
        model = MODELS.build(dict(type=backbone, num_experts=e, num_classes=num_classes, **kwargs))
        cost = get_madds(model, (3, *shape))
        rows.append(dict(experts=e, madds=cost['madds'] / 1e6, params=cost['params'] / 1e6))
        models.append(model)
    for row, latency in zip(rows, cpu_latencies_ms(models, shape, runs)):
        row['latency'] = latency
    return rows


def plot(rows: List[Dict], backbone: str, out: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    cond = [r for r in rows if r['experts'] > 0]
    base = rows[0]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for ax, key, label in zip(axes, ('madds', 'params', 'latency'),
                              ('MADDs (M)', 'parameters (M)', 'CPU latency, batch 1 (ms)')):
        ax.plot([r['experts'] for r in cond], [r[key] for r in cond], 'o-', label='CondConv')
        ax.axhline(base[key], color='gray', ls='--', label='static')
        ax.set_xscale('log', base=2)
        ax.set_xlabel('experts E')
        ax.set_ylabel(label)
        ax.grid(alpha=.3)
    axes[0].legend()
    fig.suptitle(f'{backbone}: cost vs number of experts')
    fig.tight_layout()
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    fig.savefig(out, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--backbone', default='CondConvMobileNetV2')
    parser.add_argument('--experts', type=int, nargs='+', default=[1, 2, 4, 8, 16, 32])
    parser.add_argument('--shape', type=int, nargs=2, default=[224, 224])
    parser.add_argument('--num-classes', type=int, default=1000)
    parser.add_argument('--kwargs', default='{}', help='extra backbone arguments as JSON')
    parser.add_argument('--runs', type=int, default=20)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--out', default='work_dirs/experts_sweep.png')
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rows = sweep(args.backbone, args.experts, args.shape, args.num_classes, args.runs, json.loads(args.kwargs))
    print(f'{args.backbone}, input {args.shape[0]}x{args.shape[1]}, classifier {args.num_classes}, '
          f'{args.threads} thread(s), median of {args.runs}')
    print(f"{'E':>3} {'MADDs (M)':>10} {'params (M)':>11} {'latency (ms)':>13}")
    for r in rows:
        print(f"{r['experts']:>3} {r['madds']:>10.1f} {r['params']:>11.2f} {r['latency']:>13.2f}"
              + ('   (static)' if r['experts'] == 0 else ''))
    plot(rows, args.backbone, args.out)
    print(f'plot: {args.out}')


if __name__ == '__main__':
    main()
