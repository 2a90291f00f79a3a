"""Compare two detectors (e.g. static vs CondConv) in one run: batch-1 inference latency, batch-N training-step time,
peak memory, MADDs and parameters; medians of repeated runs, ratios B/A printed last.

    python tools/analysis/benchmark_detector.py CONFIG_A CONFIG_B [--device cpu|cuda] [--repeats 20] \
        [--shape 320 320] [--train-batch 8] [--threads 2] [--strategy-b grouped] [--timer process]

* Latency: eval mode, ``torch.no_grad``, ``model(inputs, mode='tensor')`` (backbone, neck and head; no box decoding
  or NMS) on one preprocessed image.
* Training step: ``model.train_step`` (data preprocessing, forward, losses, backward, SGD step) on ``--train-batch``
  synthetic images with 3 synthetic boxes each.
* A and B are timed round-robin in one process (A, B, A, B, ...) after warm-up, so load changes on a shared machine
  hit both alike; besides the ratio of medians, the median of the paired per-round ratios B_i/A_i is printed.
* Peak memory: each model and measurement runs once more in a fresh subprocess (CPU: peak RSS, ``VmHWM`` of
  /proc/self/status, which sees torch's allocations; CUDA: ``torch.cuda.max_memory_allocated``). On CPU the process
  peak includes the ~0.4 GB of imported libraries; "above imports" subtracts the RSS measured after the imports,
  before the model is built.
* Cost model of B (CPU or CUDA latency, timed in the same rounds): B with every ``CondConv2d`` running the static
  convolution of its shape plus, as separate ops, its routing and the kernel mixing ``r @ W`` (eq. 1), i.e. the
  paper's "extra cost = routing + mixing" measured on this machine; ``B/A`` cannot get below ``B model/A`` with any
  strategy that materialises the mixed kernel. Skipped when B has no CondConv2d.
* ``--strategy-b NAME`` runs every ``CondConv2d`` of B with that strategy instead of ``auto``, e.g. ``grouped``: the
  grouped-convolution trick of public CondConv implementations, for comparison with ``auto``.
* MADDs (one multiply-add = one MADD, BN folded, per image at ``--shape``) and parameters:
  ``condconv_det.analysis.get_madds`` (mmengine's flop counter + CondConv routing/mixing handles).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import torch

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))

from condconv_det.analysis.timing import time_round_robin  # noqa: E402

NUM_BOXES = 3
NUM_LABELS = 3  # synthetic labels are drawn below this: valid for any config's num_classes >= 3
FALLBACK_SHAPE = (320, 320)


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('config_a', help='baseline config (A)')
    parser.add_argument('config_b', help='compared config (B); ratios are B/A')
    parser.add_argument('--device', choices=['cpu', 'cuda'], default='cpu')
    parser.add_argument('--repeats', type=int, default=20, help='timed runs per model and measurement (median)')
    parser.add_argument('--train-repeats', type=int, default=None, help='timed training steps (default: --repeats)')
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'), default=None,
                        help="input size (default: the test pipeline's fixed Resize, else 320 320)")
    parser.add_argument('--train-batch', type=int, default=8)
    parser.add_argument('--threads', type=int, default=None, help='torch.set_num_threads (CPU)')
    parser.add_argument('--no-memory', action='store_true', help='skip the peak-memory subprocesses')
    parser.add_argument('--strategy-b', default=None,
                        help="CondConv2d strategy of every CondConv layer of B (default: each layer's own, 'auto')")
    parser.add_argument('--timer', choices=['wall', 'process'], default='wall',
                        help='wall: perf_counter; process: CPU time of this process (user+sys), robust to other jobs '
                        'on a shared machine; meaningful with --threads 1 on CPU')
    parser.add_argument('--malloc', choices=['tuned', 'default'], default='tuned',
                        help="tuned: condconv_det.utils.tune_glibc_malloc() first, as tools/train.py and test.py do "
                        "(large CPU buffers reused, not re-mmapped); default: glibc's defaults")
    parser.add_argument('--memory-worker', choices=['train', 'infer'], default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


# ----------------------------------------------------------------------------------------------- model and data
def load_config(path: str):
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    cfg = Config.fromfile(path)  # imports custom_imports (condconv_det)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    return cfg


def config_input_shape(cfg) -> Tuple[int, int]:
    """(H, W) of the test pipeline's fixed-size Resize, else ``FALLBACK_SHAPE``."""
    from condconv_det.utils import fixed_input_size
    return fixed_input_size(cfg) or FALLBACK_SHAPE


def build_detector(cfg, device: torch.device, strategy: Optional[str] = None) -> torch.nn.Module:
    from mmdet.registry import MODELS
    from mmengine.config import ConfigDict

    from condconv_det.layers import CondConv2d
    from condconv_det.utils import without_pretrained
    torch.manual_seed(0)
    model = MODELS.build(ConfigDict(without_pretrained(cfg.model.to_dict())))
    model.init_weights()
    if strategy is not None:
        for module in model.modules():
            if isinstance(module, CondConv2d):
                module.strategy = strategy
    return model.to(device)


def synthetic_batch(batch_size: int, shape: Tuple[int, int]) -> Dict[str, list]:
    """Random uint8 images with ``NUM_BOXES`` random boxes each (fixed seed: the same batch for A and B)."""
    from mmdet.testing import demo_mm_inputs
    return demo_mm_inputs(
        batch_size=batch_size, image_shapes=(3, *shape), num_items=[NUM_BOXES] * batch_size, num_classes=NUM_LABELS)


def sgd_optim_wrapper(model: torch.nn.Module):
    from mmengine.optim import OptimWrapper
    return OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9, weight_decay=4e-5))


def preprocessed_single(model: torch.nn.Module, shape: Tuple[int, int], device: torch.device):
    """One synthetic image through the detector's data preprocessor: ``(inputs (1, 3, H, W), data_samples)``."""
    data = model.data_preprocessor(synthetic_batch(1, shape), training=False)
    return data['inputs'].to(device), data['data_samples']


def inference_fn(model: torch.nn.Module, shape: Tuple[int, int], device: torch.device) -> Callable[[], None]:
    """Batch-1 ``mode='tensor'`` forward on one preprocessed image (two-stage detectors: RPN proposals included)."""
    model.eval()
    inputs, data_samples = preprocessed_single(model, shape, device)

    def run() -> None:
        with torch.no_grad():
            model(inputs, data_samples, mode='tensor')

    return run


def _cost_model_forward(self, x: torch.Tensor, routing_weights: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``CondConv2d.forward`` replaced by routing + kernel mixing (result unused) + a static conv of the same shape."""
    if routing_weights is None:
        routing_weights = self.routing(x)
    torch.mm(routing_weights, self.weight.view(self.num_experts, -1))
    if self.bias is not None:
        torch.mm(routing_weights, self.bias)
    return torch.nn.functional.conv2d(x, self.static_kernel, self.static_bias, self.stride, self.padding,
                                      self.dilation, self.groups)


def cost_model_of(model: torch.nn.Module) -> Optional[torch.nn.Module]:
    """A copy of ``model`` whose CondConv2d layers run ``_cost_model_forward``; ``None`` without CondConv2d."""
    import copy
    import types

    from condconv_det.layers import CondConv2d
    clone = copy.deepcopy(model)
    found = False
    for module in clone.modules():
        if isinstance(module, CondConv2d):
            found = True
            module.static_kernel = module.weight.detach()[0].clone()
            module.static_bias = None if module.bias is None else module.bias.detach()[0].clone()
            module.forward = types.MethodType(_cost_model_forward, module)
    return clone if found else None


class TensorForward(torch.nn.Module):
    """``detector._forward`` on fixed data samples with the outputs flattened to a tuple of tensors (for tracing)."""

    def __init__(self, detector: torch.nn.Module, data_samples: list) -> None:
        super().__init__()
        self.detector = detector
        self.data_samples = data_samples

    def forward(self, inputs: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        flat: List[torch.Tensor] = []

        def collect(node: Any) -> None:
            if isinstance(node, torch.Tensor):
                flat.append(node)
            elif isinstance(node, (list, tuple)):
                for item in node:
                    collect(item)

        collect(self.detector._forward(inputs, self.data_samples))
        return tuple(flat)


def train_step_fn(model: torch.nn.Module, batch_size: int, shape: Tuple[int, int]) -> Callable[[], None]:
    """One ``model.train_step`` (preprocess, forward, loss, backward, SGD step) on a fixed synthetic batch."""
    model.train()
    data = synthetic_batch(batch_size, shape)
    optim_wrapper = sgd_optim_wrapper(model)

    def run() -> None:
        log_vars = model.train_step(data, optim_wrapper)
        if not torch.isfinite(log_vars['loss']):
            raise FloatingPointError(f'non-finite loss in the benchmark training step: {log_vars}')

    return run


# ------------------------------------------------------------------------------------------------------ memory
def _proc_status_mb(field: str) -> float:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1]) / 1024  # kB
    raise KeyError(field)


def current_rss_mb() -> float:
    return _proc_status_mb('VmRSS')


def peak_rss_mb() -> float:
    """This process's peak RSS (``VmHWM``). Not ``getrusage``'s ``ru_maxrss``: Linux carries the parent's RSS at
    ``fork`` over ``exec`` into it, so a subprocess of a big parent reports the parent's size."""
    return _proc_status_mb('VmHWM')


def memory_worker(args: argparse.Namespace) -> None:
    """Runs in a fresh process: build one model, run ``--warmup`` steps of one measurement, print peak memory."""
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = load_config(args.config_a)
    import mmdet.testing  # noqa: F401  (imported before the baseline)
    shape = tuple(args.shape)
    baseline = current_rss_mb()
    model = build_detector(cfg, device, args.strategy_b)
    if args.memory_worker == 'train':
        fn = train_step_fn(model, args.train_batch, shape)
    else:
        fn = inference_fn(model, shape, device)
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    for _ in range(max(args.warmup, 2)):
        fn()
    result = dict(peak_rss_mb=peak_rss_mb(), baseline_rss_mb=baseline)
    if device.type == 'cuda':
        torch.cuda.synchronize(device)
        result['cuda_peak_mb'] = torch.cuda.max_memory_allocated(device) / 2**20
    print('MEMORY_RESULT ' + json.dumps(result))


def measure_memory(config: str, mode: str, args: argparse.Namespace, shape: Tuple[int, int],
                   strategy: Optional[str] = None) -> Dict[str, float]:
    cmd = [sys.executable, str(Path(__file__).resolve()), config, config, '--memory-worker', mode, '--device',
           args.device, '--shape', str(shape[0]), str(shape[1]), '--train-batch', str(args.train_batch),
           '--warmup', str(args.warmup)]
    if args.threads:
        cmd += ['--threads', str(args.threads)]
    cmd += ['--malloc', args.malloc]
    if strategy is not None:
        cmd += ['--strategy-b', strategy]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=os.getcwd())
    for line in proc.stdout.splitlines():
        if line.startswith('MEMORY_RESULT '):
            return json.loads(line[len('MEMORY_RESULT '):])
    raise RuntimeError(f'memory worker failed ({proc.returncode}) for {config} {mode}:\n{proc.stderr[-3000:]}')


# ------------------------------------------------------------------------------------------------------ report
def median(values: List[float]) -> float:
    return statistics.median(values)


def paired_ratio(samples: Dict[str, List[float]]) -> float:
    """Median over rounds of B_i / A_i (A and B timed back to back): robust to slow load drift on a shared machine."""
    return median([b / a for a, b in zip(samples['A'], samples['B'])])


def complexity(model: torch.nn.Module, shape: Tuple[int, int], device: torch.device) -> Dict[str, float]:
    """Per-image MADDs (NaN when the forward cannot be traced) and parameters."""
    from mmengine.analysis import parameter_count
    from condconv_det.analysis import get_madds
    model.eval()
    inputs, data_samples = preprocessed_single(model, shape, device)
    try:
        madds = get_madds(TensorForward(model, data_samples), inputs=(inputs, ))['madds']
    except Exception as error:  # e.g. an op of a two-stage detector's proposal step that jit cannot trace
        print(f'warning: MADDs not counted ({type(error).__name__}: {error})')
        madds = float('nan')
    return dict(madds=madds, params=parameter_count(model)[''])


def main() -> None:
    args = parse_args()
    if args.malloc == 'tuned':
        from condconv_det.utils.cpu_allocator import tune_glibc_malloc
        tune_glibc_malloc()
    if args.memory_worker:
        memory_worker(args)
        return
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    configs = dict(A=args.config_a, B=args.config_b)
    cfgs = {name: load_config(path) for name, path in configs.items()}
    shape = tuple(args.shape) if args.shape else config_input_shape(cfgs['A'])
    models = {name: build_detector(cfg, device, args.strategy_b if name == 'B' else None)
              for name, cfg in cfgs.items()}

    print(f'device={args.device} threads={torch.get_num_threads()} malloc={args.malloc} shape={shape[0]}x{shape[1]} '
          f'train_batch={args.train_batch} repeats={args.repeats} warmup={args.warmup} timer={args.timer} '
          f'torch={torch.__version__}')
    for name, path in configs.items():
        print(f'{name}: {path}' + (f' (every CondConv2d with strategy={args.strategy_b!r})'
                                   if name == 'B' and args.strategy_b else ''))

    stats: Dict[str, Dict[str, float]] = {name: {} for name in configs}
    for name, model in models.items():
        stats[name].update(complexity(model, shape, device))

    latency_fns = {name: inference_fn(m, shape, device) for name, m in models.items()}
    cost_model = cost_model_of(models['B'])
    if cost_model is not None:
        latency_fns['B model'] = inference_fn(cost_model, shape, device)
    clock = time.process_time if args.timer == 'process' else time.perf_counter
    latency = time_round_robin(latency_fns, args.repeats, args.warmup, device, clock)
    train_fns = {name: train_step_fn(m, args.train_batch, shape) for name, m in models.items()}  # train mode
    train = time_round_robin(train_fns, args.train_repeats or args.repeats, args.warmup, device, clock)
    paired = dict(latency_ms=paired_ratio(latency), train_ms=paired_ratio(train))
    for name in configs:
        stats[name]['latency_ms'] = median(latency[name])
        stats[name]['latency_min_ms'] = min(latency[name])
        stats[name]['train_ms'] = median(train[name])
        stats[name]['train_min_ms'] = min(train[name])
    model_latency = median(latency['B model']) if cost_model is not None else None
    del models, cost_model

    if not args.no_memory:
        for name, path in configs.items():
            for mode in ('infer', 'train'):
                mem = measure_memory(path, mode, args, shape, args.strategy_b if name == 'B' else None)
                if device.type == 'cuda':
                    stats[name][f'{mode}_peak_mb'] = mem['cuda_peak_mb']
                else:
                    stats[name][f'{mode}_peak_mb'] = mem['peak_rss_mb']
                    stats[name][f'{mode}_above_baseline_mb'] = mem['peak_rss_mb'] - mem['baseline_rss_mb']

    mem_kind = 'CUDA max allocated' if device.type == 'cuda' else 'process peak RSS'
    rows = [
        ('MADDs per image (G)', 'madds', 1e-9),
        ('params (M)', 'params', 1e-6),
        ('batch-1 latency, median (ms)', 'latency_ms', 1.),
        ('batch-1 latency, min (ms)', 'latency_min_ms', 1.),
        (f'batch-{args.train_batch} train step, median (ms)', 'train_ms', 1.),
        (f'batch-{args.train_batch} train step, min (ms)', 'train_min_ms', 1.),
        (f'peak inference memory, {mem_kind} (MB)', 'infer_peak_mb', 1.),
        (f'peak training memory, {mem_kind} (MB)', 'train_peak_mb', 1.),
        ('peak inference memory above imports (MB)', 'infer_above_baseline_mb', 1.),
        ('peak training memory above imports (MB)', 'train_above_baseline_mb', 1.),
    ]
    rows = [row for row in rows if row[1] in stats['A']]
    width = max(len(row[0]) for row in rows)
    print(f'\n{"":{width}}  {"A":>12}  {"B":>12}')
    for label, key, scale in rows:
        print(f'{label:{width}}  {stats["A"][key] * scale:12.3f}  {stats["B"][key] * scale:12.3f}')

    print('\nratios B/A')
    targets = dict(latency_ms=1.10, train_ms=1.35, train_peak_mb=1.3, train_above_baseline_mb=1.3)
    for label, key, _ in rows:
        ratio = stats['B'][key] / stats['A'][key]
        target = f'   (target <= {targets[key]:.2f}: {"met" if ratio <= targets[key] else "NOT met"})' \
            if key in targets else ''
        print(f'{label:{width}}  {ratio:8.3f}{target}')
        if key in paired:
            print(f'{"  (median of paired B_i/A_i)":{width}}  {paired[key]:8.3f}')
        if key == 'latency_ms' and model_latency is not None:
            print(f'{"  (cost model of B)/A":{width}}  {model_latency / stats["A"][key]:8.3f}   '
                  f'({model_latency:.3f} ms: static convs + routing + kernel mixing)')


if __name__ == '__main__':
    main()
