"""Benchmark CondConv2d (strategy='auto') against nn.Conv2d of the same shape and the grouped-convolution trick
(strategy='grouped', as public implementations run it), forward (eval, no_grad)
and forward+backward, on MobileNetV1/V2 late-stage shapes and
one ResNet 3x3 (Yang et al., NeurIPS 2019: CondConv's extra cost should be only routing + kernel mixing).

    .venv/bin/python tools/analysis/benchmark_condconv.py --threads 2 --experts 1 4 8 16 --batch 1 8

Timings are medians of ``--repeats`` runs after warm-up; the variants of one case are timed round-robin (static,
auto, grouped, static, ...) so that load changes on a shared machine hit all of them alike. Ratios are geometric
means over the MobileNet shapes (the issue's targets) and, separately, over the ResNet shape.

``limit`` is the paper's cost model measured on this machine: the static convolution plus, as separate ops, the
routing function and the kernel mixing ``routing (B, E) @ experts (E, -1)`` (and, for f+b, their backward GEMMs),
without running any per-example convolution. ``limit/st`` is therefore the least a CondConv layer can cost relative
to the static layer here (at batch 1 the mixing reads all ``E`` experts, a memory-bound product), ``auto/lim``
how far the chosen strategy is from it, and ``grouped/limit`` the largest speed-up over the grouped trick that any
strategy materialising the mixed kernels could reach ("paper cost model here" next to the issue targets).

``--extra-strategies`` also times forced strategies of ``CondConv2d`` and the comparison points below: exact
alternatives that ``strategy='auto'`` never picks (measured in docs/performance.md), kept here rather than in the
layer; ``tests/tools/test_benchmark_condconv.py`` checks them against ``CondConv2d``.
"""
import argparse
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, NamedTuple, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from condconv_det.analysis.timing import time_round_robin, warn_if_cpu_busy  # noqa: E402
from condconv_det.layers import CondConv2d, select_strategy  # noqa: E402
from condconv_det.layers.kernel_mixing import mix_expert_biases, mix_expert_kernels  # noqa: E402
from condconv_det.layers.strategies import ConvGeometry, check_strategy_applicable  # noqa: E402


class Case(NamedTuple):
    name: str
    family: str  # 'mobilenet' or 'resnet'
    in_channels: int
    out_channels: int
    kernel_size: int
    groups: int
    size: int


CASES = [
    Case('pw 160->960 @10', 'mobilenet', 160, 960, 1, 1, 10),
    Case('pw 320->1280 @10', 'mobilenet', 320, 1280, 1, 1, 10),
    Case('pw 96->576 @20', 'mobilenet', 96, 576, 1, 1, 20),
    Case('pw 512->512 @20', 'mobilenet', 512, 512, 1, 1, 20),
    Case('pw 1024->1024 @10', 'mobilenet', 1024, 1024, 1, 1, 10),
    Case('dw3 960 @10', 'mobilenet', 960, 960, 3, 960, 10),
    Case('dw3 576 @20', 'mobilenet', 576, 576, 3, 576, 20),
    Case('dw3 512 @20', 'mobilenet', 512, 512, 3, 512, 20),
    Case('3x3 512->512 @7', 'resnet', 512, 512, 3, 1, 7),
]


def conv_depthwise_nhwc(x: Tensor, routing_weights: Tensor, weight: Tensor, bias: Optional[Tensor],
                        geometry: ConvGeometry) -> Tensor:
    """Depthwise (``groups == in_channels``): one depthwise convolution over ``B*C`` channels folded channels_last,
    ``(H, W, B*C)`` memory, whatever the input layout (``grouped`` folds NCHW, which is free). Output as the input's
    memory format."""
    batch, channels, height, width = x.shape
    _, out_channels, _, kernel_h, kernel_w = weight.shape
    folded = x.permute(2, 3, 0, 1).reshape(height, width, batch * channels).permute(2, 0, 1).unsqueeze(0)
    kernels = mix_expert_kernels(routing_weights, weight).reshape(batch * out_channels, 1, kernel_h, kernel_w)
    biases = mix_expert_biases(routing_weights, bias)
    y = F.conv2d(folded, kernels, None if biases is None else biases.view(-1), geometry.stride, geometry.padding,
                 geometry.dilation, batch * channels)
    out_h, out_w = y.shape[2], y.shape[3]
    y = y[0].permute(1, 2, 0).reshape(out_h, out_w, batch, out_channels).permute(2, 3, 0, 1)
    channels_last = x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
    return y.contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)


def conv_per_example(x: Tensor, routing_weights: Tensor, weight: Tensor, bias: Optional[Tensor],
                     geometry: ConvGeometry) -> Tensor:
    """A Python loop of ordinary convolutions, one per example (the official TF code's approach)."""
    kernels = mix_expert_kernels(routing_weights, weight)
    biases = mix_expert_biases(routing_weights, bias)
    return torch.cat([
        F.conv2d(x[index:index + 1], kernels[index], None if biases is None else biases[index], geometry.stride,
                 geometry.padding, geometry.dilation, geometry.groups) for index in range(x.shape[0])
    ])


def conv_expert_outputs(x: Tensor, routing_weights: Tensor, weight: Tensor, bias: Optional[Tensor],
                        geometry: ConvGeometry) -> Tensor:
    """Convolve with all ``E`` experts (one static conv of ``E*out`` channels), then mix the outputs: the "mixture
    of experts" view of eq. (1), ``E`` times the MADDs of the strategies."""
    batch = x.shape[0]
    num_experts, out_channels, in_per_group, kernel_h, kernel_w = weight.shape
    groups = geometry.groups
    out_per_group = out_channels // groups
    # Output channels must stay group-major for a grouped conv: (g, E, out/g) ordering.
    stacked = weight.reshape(num_experts, groups, out_per_group, in_per_group, kernel_h, kernel_w).transpose(0, 1)
    stacked = stacked.reshape(groups * num_experts * out_per_group, in_per_group, kernel_h, kernel_w)
    y = F.conv2d(x, stacked, None, geometry.stride, geometry.padding, geometry.dilation, groups)
    out_h, out_w = y.shape[2], y.shape[3]
    y = y.view(batch, groups, num_experts, out_per_group, out_h, out_w)
    y = torch.einsum('bgeohw,be->bgohw', y, routing_weights).reshape(batch, out_channels, out_h, out_w)
    biases = mix_expert_biases(routing_weights, bias)
    return y if biases is None else y + biases.view(batch, out_channels, 1, 1)


COMPARISON_POINTS: Dict[str, Callable[..., Tensor]] = {
    'depthwise_nhwc': conv_depthwise_nhwc,
    'per_example': conv_per_example,
    'expert_outputs': conv_expert_outputs,
}


class ComparisonPoint(nn.Module):
    """A zero-padded ``CondConv2d``'s routing, experts and geometry run by a comparison point instead of its
    strategies."""

    def __init__(self, layer: CondConv2d, fn: Callable[..., Tensor]) -> None:
        super().__init__()
        self.layer = layer
        self.fn = fn

    def forward(self, x: Tensor, routing_weights: Optional[Tensor] = None) -> Tensor:
        layer = self.layer
        if routing_weights is None:
            routing_weights = layer.routing(x)
        geometry = ConvGeometry(layer.stride, layer.padding, layer.dilation, layer.groups)
        return self.fn(x, routing_weights, layer.weight, layer.bias, geometry)


def applicable(name: str, batch: int, case: Case) -> bool:
    """Whether the strategy or comparison point ``name`` runs ``case`` at ``batch``."""
    if name == 'depthwise_nhwc':
        return case.groups == case.in_channels
    if name in COMPARISON_POINTS or name == 'auto':
        return True
    try:
        check_strategy_applicable(name, batch, (case.kernel_size, ) * 2)
    except ValueError:
        return False
    return True


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument('--experts', type=int, nargs='+', default=[1, 4, 8, 16])
    parser.add_argument('--batch', type=int, nargs='+', default=[1, 8])
    parser.add_argument('--repeats', type=int, default=15, help='timed runs per variant (median reported)')
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--threads', type=int, default=None, help='torch.set_num_threads (CPU)')
    parser.add_argument('--channels-last', action='store_true', help='channels_last input and layers')
    parser.add_argument('--cases', nargs='+', default=None, help='substrings selecting cases, e.g. pw dw3')
    parser.add_argument('--extra-strategies', nargs='+', default=[],
                        help='also time these forced strategies or comparison points, e.g. bmm_1x1 unfold_bmm '
                        f'per_example (comparison points: {", ".join(COMPARISON_POINTS)})')
    parser.add_argument('--no-backward', action='store_true', help='forward only')
    parser.add_argument('--timer', choices=['wall', 'process'], default='wall',
                        help='wall: perf_counter; process: CPU time of this process (user+sys, page faults included), '
                        'robust to other jobs on a shared machine; meaningful with --threads 1 on CPU')
    parser.add_argument('--malloc', choices=['tuned', 'default'], default='tuned',
                        help="tuned: condconv_det.utils.tune_glibc_malloc() first, as tools/train.py and test.py do "
                        "(large CPU buffers reused, not re-mmapped); default: glibc's defaults")
    parser.add_argument('--routing', choices=['own', 'shared'], default='own',
                        help="own: each CondConv2d runs its routing function (GAP + FC + sigmoid), the worst case; "
                        "shared: routing weights (B, E) are given, as a block shares them between its convs")
    return parser.parse_args()


def make_forward(layer: nn.Module, x: torch.Tensor, routing: Optional[torch.Tensor]) -> Callable[[], None]:
    inputs = (x, ) if routing is None else (x, routing)

    def run() -> None:
        with torch.no_grad():
            layer(*inputs)
    return run


def make_forward_backward(layer: nn.Module, x: torch.Tensor, routing: Optional[torch.Tensor],
                          grad: torch.Tensor) -> Callable[[], None]:
    params = list(layer.parameters())
    inputs = (x, ) if routing is None else (x, routing)

    def run() -> None:
        for tensor in params + list(inputs):
            tensor.grad = None
        layer(*inputs).backward(grad)
    return run


class MixingLimit(nn.Module):
    """The static conv plus CondConv's unavoidable extras as separate ops: routing (own or given) and the kernel
    mixing ``r @ W`` (eq. 1). Its output is the static conv's; backward also runs the mixing's two GEMMs."""

    def __init__(self, static: nn.Module, condconv: CondConv2d) -> None:
        super().__init__()
        self.static = static
        self.condconv = condconv

    def forward(self, x: torch.Tensor, routing: Optional[torch.Tensor] = None):
        if routing is None:
            routing = self.condconv.routing(x)
        weight = self.condconv.weight
        mixed = torch.mm(routing, weight.view(weight.shape[0], -1))
        return self.static(x), mixed


def make_limit_forward_backward(layer: MixingLimit, x: torch.Tensor, routing: Optional[torch.Tensor],
                                grad: torch.Tensor) -> Callable[[], None]:
    params = list(layer.parameters())
    inputs = (x, ) if routing is None else (x, routing)
    grad_mixed: List[torch.Tensor] = []

    def run() -> None:
        for tensor in params + list(inputs):
            tensor.grad = None
        y, mixed = layer(*inputs)
        if not grad_mixed:
            grad_mixed.append(torch.ones_like(mixed))
        torch.autograd.backward([y, mixed], [grad, grad_mixed[0]])
    return run


def geomean(values: List[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float('nan')


def main() -> None:
    args = parse_args()
    if args.malloc == 'tuned':
        from condconv_det.utils.cpu_allocator import tune_glibc_malloc
        tune_glibc_malloc()
    if args.device == 'cuda' and not torch.cuda.is_available():
        raise SystemExit('--device cuda: this torch build / machine has no CUDA device')
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    memory_format = torch.channels_last if args.channels_last else torch.contiguous_format
    cases = [c for c in CASES if args.cases is None or any(s in c.name for s in args.cases)]
    print(f'device={device} threads={torch.get_num_threads()} malloc={args.malloc} torch={torch.__version__} '
          f'channels_last={args.channels_last} routing={args.routing} repeats={args.repeats} timer={args.timer} '
          '(median ms)')
    if device.type == 'cuda':
        print(f'gpu={torch.cuda.get_device_name(device)}')
    else:
        warn_if_cpu_busy()
    extra = list(args.extra_strategies)
    header = (f"{'case':20s} {'B':>2s} {'E':>2s} {'mode':4s} {'static':>8s} {'auto':>8s} {'grouped':>8s} "
              + ''.join(f'{s:>14s}' for s in extra) + f" {'limit':>8s} {'auto/st':>7s} {'grp/auto':>8s} "
              f"{'limit/st':>8s} {'auto/lim':>8s}  strategy")
    print(header)
    ratios: Dict[tuple, List[float]] = {}
    torch.manual_seed(0)
    for case in cases:
        for batch in args.batch:
            x = torch.randn(batch, case.in_channels, case.size, case.size, device=device)
            x = x.contiguous(memory_format=memory_format)
            static = nn.Conv2d(case.in_channels, case.out_channels, case.kernel_size, padding=case.kernel_size // 2,
                               groups=case.groups).to(device, memory_format=memory_format)
            for experts in args.experts:
                layers = {'static': static}
                for name in ['auto', 'grouped'] + extra:
                    if not applicable(name, batch, case):
                        continue
                    layer = CondConv2d(case.in_channels, case.out_channels, case.kernel_size,
                                       padding=case.kernel_size // 2, groups=case.groups, num_experts=experts,
                                       strategy='auto' if name in COMPARISON_POINTS else name,
                                       routing_cfg=None if args.routing == 'shared' else dict(type='SigmoidRouting'))
                    layer = layer.to(device, memory_format=memory_format)
                    layers[name] = ComparisonPoint(layer, COMPARISON_POINTS[name]) if name in COMPARISON_POINTS \
                        else layer
                layers['limit'] = MixingLimit(static, layers['auto'])
                for layer in layers.values():
                    layer.eval()
                modes = [('fwd', False)] + ([] if args.no_backward else [('f+b', True)])
                for mode, backward in modes:
                    xg = x.detach().clone().requires_grad_(backward)
                    routing = None
                    if args.routing == 'shared':
                        routing = torch.rand(batch, experts, device=device, requires_grad=backward)
                    with torch.no_grad():
                        grad = torch.randn_like(static(x)) if backward else None
                    fns = {}
                    for name, layer in layers.items():
                        layer_routing = None if name == 'static' else routing
                        if name == 'limit' and backward:
                            fns[name] = make_limit_forward_backward(layer, xg, layer_routing, grad)
                        elif backward:
                            fns[name] = make_forward_backward(layer, xg, layer_routing, grad)
                        else:
                            fns[name] = make_forward(layer, xg, layer_routing)
                    clock = time.process_time if args.timer == 'process' else time.perf_counter
                    times = {name: statistics.median(ms) for name, ms in time_round_robin(
                        fns, args.repeats, args.warmup, device, clock, check_cpu=False).items()}
                    chosen = select_strategy(batch, (case.kernel_size, ) * 2, case.groups, case.in_channels,
                                             case.out_channels, device.type, backward, False, case.size**2)
                    auto_ratio = times['auto'] / times['static']
                    grouped_ratio = times['grouped'] / times['auto']
                    limit_ratio = times['limit'] / times['static']
                    from_limit = times['auto'] / times['limit']
                    for kind, value in (('auto/static', auto_ratio), ('grouped/auto', grouped_ratio),
                                        ('limit/static', limit_ratio), ('auto/limit', from_limit),
                                        ('grouped/limit', times['grouped'] / times['limit'])):
                        ratios.setdefault((case.family, experts, batch, mode, kind), []).append(value)
                    print(f'{case.name:20s} {batch:2d} {experts:2d} {mode:4s} {times["static"]:8.3f} '
                          f'{times["auto"]:8.3f} {times["grouped"]:8.3f} '
                          + ''.join(f'{times[s]:14.3f}' if s in times else f"{'-':>14s}" for s in extra)
                          + f' {times["limit"]:8.3f} {auto_ratio:7.3f} {grouped_ratio:8.3f} {limit_ratio:8.3f} '
                          f'{from_limit:8.3f}  {chosen}', flush=True)
    print('\ngeometric means (auto/static: lower is better, 1 = no CondConv overhead; '
          'grouped/auto: higher is better; limit/static: static conv + routing + kernel mixing only)')
    for family in ('mobilenet', 'resnet'):
        for experts in args.experts:
            for batch in args.batch:
                cells = []
                for mode in ('fwd', 'f+b'):
                    a = ratios.get((family, experts, batch, mode, 'auto/static'))
                    g = ratios.get((family, experts, batch, mode, 'grouped/auto'))
                    lim = ratios.get((family, experts, batch, mode, 'limit/static'))
                    if a:
                        cells.append(f'{mode} auto/static {geomean(a):.3f} grouped/auto {geomean(g):.3f} '
                                     f'limit/static {geomean(lim):.3f}')
                if cells:
                    print(f'{family:9s} E={experts:2d} B={batch:2d}: ' + ' | '.join(cells))
    target = [(8, 8, 'f+b', 'auto/static', '<=', 1.25), (8, 8, 'f+b', 'grouped/auto', '>=', 1.15),
              (8, 1, 'fwd', 'auto/static', '<=', 1.15)]
    print('\nissue targets (mobilenet shapes, E=8):')
    for experts, batch, mode, kind, op, bound in target:
        values = ratios.get(('mobilenet', experts, batch, mode, kind))
        if not values:
            print(f'  B={batch} {mode} {kind} {op} {bound}: not measured')
            continue
        value = geomean(values)
        met = value <= bound if op == '<=' else value >= bound
        # the best any strategy that materialises the mixed kernels can reach: the cost model's ratio
        best_kind = 'limit/static' if kind == 'auto/static' else 'grouped/limit'
        best = geomean(ratios[('mobilenet', experts, batch, mode, best_kind)])
        print(f"  B={batch} {mode} {kind} = {value:.3f} (target {op} {bound}: {'met' if met else 'NOT met'}; "
              f"paper cost model here: {best:.3f})")


if __name__ == '__main__':
    main()
