"""Record CondConv routing vectors with forward hooks and summarise them in a streaming way.

The routing weights ``r(x) = sigmoid(GAP(x) · R + b)`` (Yang et al., NeurIPS 2019, eq. (2)) are produced by *routing
modules*: a CondConv2d's own ``.routing``, the one routing module a block shares between its CondConvs, or a
``CondConvSSDHead``'s ``level_routings[l]``. :class:`RoutingRecorder` puts a forward hook on each of them (named by
its module path), so per-layer and block-shared routing are both captured, and only the latest ``(B, E)`` vectors are
held. :class:`RoutingStatistics` folds each batch into fixed-size per-layer accumulators (per-class sums, fixed-bin
histograms, moments), so memory is ``O(layers × classes × experts)`` whatever the number of images.

Class specificity of a layer is the fraction of routing variance explained by class (the correlation ratio,
``eta² = SS_between / SS_total`` summed over experts), over (image, class) samples. Routing is one vector per image
(global average pooling over the whole feature map), so each image needs a class: by default (``assign='area'``) the
class of its ground-truth boxes that covers the largest total box area (ties: more boxes, then the lower class index)
— one label per image, a plain one-way analysis of variance. ``assign='presence'`` credits the vector once to every
class among the image's boxes and ``assign='boxes'`` once per box; in cluttered multi-class images (most demo and BCCD
images hold 2–3 classes) these make the class means alike by construction and understate specificity.
``epsilon²`` is eta² with the small-sample bias removed (``(SS_between - (k - 1) · SS_within / (n - k)) /
SS_total``), ~0 for routing unrelated to class.
"""
import math
import re
from collections import OrderedDict
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence

import torch
import torch.nn as nn
from torch import Tensor

from condconv_det.layers.pooled_routing import PooledLinearRouting

NEAR_ZERO = 0.1  # routing weights below this count as "expert off"
NEAR_ONE = 0.9  # and above this as "expert on"
CONSTANT_STD = 1e-3  # routing whose std across images (mean over experts) is below this is ~constant (static conv)
ASSIGN_MODES = ('area', 'presence', 'boxes')
_ROUTING_NAME = re.compile(r'(^|\.)(routing|level_routings\.\d+)$')


def is_routing_module(name: str, module: nn.Module) -> bool:
    """A module whose output is a ``(B, E)`` routing vector: the plugin's routing functions, or any module at a
    routing attribute (``*.routing``, ``*.level_routings.<l>``), so custom routing functions are found too."""
    if isinstance(module, PooledLinearRouting):
        return True
    return bool(_ROUTING_NAME.search(name)) and not isinstance(module, (nn.ModuleList, nn.ModuleDict))


def find_routing_modules(model: nn.Module) -> 'OrderedDict[str, nn.Module]':
    """Routing modules of ``model`` by module path (``module.`` of a wrapper removed), outermost only."""
    found: 'OrderedDict[str, nn.Module]' = OrderedDict()
    for name, module in model.named_modules():
        if not name or not is_routing_module(name, module):
            continue
        if any(name.startswith(parent + '.') for parent in found):
            continue  # e.g. a custom routing wrapping a PooledLinearRouting: record the outer one only
        found[name[len('module.'):] if name.startswith('module.') else name] = module
    return found


def short_layer_name(name: str) -> str:
    """A compact label for plots: ``backbone.layer4.0.routing`` -> ``backbone.layer4.0``,
    ``bbox_head.level_routings.2`` -> ``bbox_head.level2``, ``backbone.conv2.conv.routing`` -> ``backbone.conv2``."""
    name = re.sub(r'\.level_routings\.(\d+)$', r'.level\1', name)
    name = re.sub(r'(\.conv)?\.routing$', '', name)
    return name


def stage_of(name: str) -> str:
    """The stage a routing module belongs to, for per-stage logging: the first two path components
    (``backbone.layer4``), or ``<head>.level<l>`` for per-level head routing."""
    match = re.search(r'^(.*)\.level_routings\.(\d+)$', name)
    if match:
        return f'{match.group(1)}.level{match.group(2)}'
    parts = short_layer_name(name).split('.')
    return '.'.join(parts[:2])


class RoutingRecorder:
    """Forward hooks on every routing module of ``model``; :meth:`pop` returns and clears the vectors of the last
    forward pass. Use as a context manager (hooks are removed on exit).

    Args:
        model: any model containing CondConv routing modules.
        enabled: record only while true (set ``recorder.enabled`` per iteration to keep training cheap).
    """

    def __init__(self, model: nn.Module, enabled: bool = True) -> None:
        self.modules = find_routing_modules(model)
        self.enabled = enabled
        self.call_order: List[str] = []  # layer names by first call: the depth order of the forward pass
        self._latest: Dict[str, Tensor] = {}
        self._handles = [module.register_forward_hook(self._make_hook(name)) for name, module in self.modules.items()]

    def _make_hook(self, name: str) -> Callable:

        def hook(module: nn.Module, inputs: Any, output: Any) -> None:
            if not self.enabled or not isinstance(output, Tensor) or output.dim() != 2:
                return
            if name not in self._latest and name not in self.call_order:
                self.call_order.append(name)
            value = output.detach().float()
            # A module called twice in one pass (shared routing reused): keep every call as extra examples.
            self._latest[name] = torch.cat([self._latest[name], value]) if name in self._latest else value

        return hook

    def pop(self) -> 'OrderedDict[str, Tensor]':
        """Routing vectors ``(B, E)`` of the forward passes since the last call, in depth order; then cleared."""
        latest = OrderedDict((name, self._latest[name]) for name in self.call_order if name in self._latest)
        self._latest = {}
        return latest

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __enter__(self) -> 'RoutingRecorder':
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


def normalized_entropy(routing: Tensor) -> Tensor:
    """Entropy of each routing vector normalised to a distribution, divided by ``log E`` (1: all experts mixed
    equally, 0: one expert). ``routing (B, E)`` -> ``(B,)``; 0 for ``E = 1``."""
    num_experts = routing.shape[1]
    if num_experts < 2:
        return routing.new_zeros(routing.shape[0])
    probs = routing.clamp_min(0) / routing.clamp_min(0).sum(dim=1, keepdim=True).clamp_min(1e-12)
    entropy = -(probs * probs.clamp_min(1e-12).log()).sum(dim=1)
    return entropy / math.log(num_experts)


class LayerRoutingStats:
    """Streaming statistics of one routing module's ``(B, E)`` outputs.

    Sums are float64 and shifted by the first batch's mean (the shifted-data variance algorithm), so the variance of
    nearly constant routing does not drown in cancellation.
    """

    def __init__(self, num_experts: int, num_classes: int, num_bins: int = 20) -> None:
        self.num_experts = num_experts
        self.num_classes = num_classes
        self.num_bins = num_bins
        self.shift: Optional[Tensor] = None
        self.count = 0
        self.sum = torch.zeros(num_experts, dtype=torch.float64)
        self.sum_sq = torch.zeros(num_experts, dtype=torch.float64)
        self.raw_moments = torch.zeros(4, dtype=torch.float64)  # sums of v, v², v³, v⁴ over all values (bimodality)
        self.histogram = torch.zeros(num_bins, dtype=torch.float64)
        self.out_of_range = 0
        self.near_zero = torch.zeros(num_experts, dtype=torch.float64)
        self.near_one = torch.zeros(num_experts, dtype=torch.float64)
        self.on = torch.zeros(num_experts, dtype=torch.float64)  # weight > 0.5
        self.dominant = torch.zeros(num_experts, dtype=torch.float64)  # images where the expert has the top weight
        self.minimum = torch.full((num_experts, ), math.inf, dtype=torch.float64)  # per expert, over images
        self.maximum = torch.full((num_experts, ), -math.inf, dtype=torch.float64)
        self.entropy_sum = 0.0
        self.class_weight = torch.zeros(num_classes, dtype=torch.float64)
        self.class_sum = torch.zeros(num_classes, num_experts, dtype=torch.float64)
        self.class_sum_sq = torch.zeros(num_classes, num_experts, dtype=torch.float64)

    def update(self, routing: Tensor, class_weights: Optional[Tensor] = None) -> None:
        """Add ``routing (B, E)``; ``class_weights (B, C)`` says how much each example counts for each class."""
        routing = routing.detach().to('cpu', torch.float64)
        if routing.dim() != 2 or routing.shape[1] != self.num_experts:
            raise ValueError(f'routing must be (B, {self.num_experts}), got {tuple(routing.shape)}')
        if self.shift is None:
            self.shift = routing.mean(dim=0)
        centred = routing - self.shift
        self.count += routing.shape[0]
        self.sum += centred.sum(dim=0)
        self.sum_sq += centred.square().sum(dim=0)
        values = routing.flatten()
        for power in range(4):
            self.raw_moments[power] += values.pow(power + 1).sum()
        inside = (values >= 0) & (values <= 1)
        self.out_of_range += int((~inside).sum())
        self.histogram += torch.histc(values[inside], bins=self.num_bins, min=0.0, max=1.0)
        self.near_zero += (routing < NEAR_ZERO).sum(dim=0)
        self.near_one += (routing > NEAR_ONE).sum(dim=0)
        self.on += (routing > 0.5).sum(dim=0)
        if routing.shape[0]:
            self.minimum = torch.minimum(self.minimum, routing.min(dim=0).values)
            self.maximum = torch.maximum(self.maximum, routing.max(dim=0).values)
        is_max = routing >= routing.max(dim=1, keepdim=True).values  # ties share the image
        self.dominant += (is_max / is_max.sum(dim=1, keepdim=True)).sum(dim=0)
        self.entropy_sum += float(normalized_entropy(routing).sum())
        if class_weights is not None:
            class_weights = class_weights.to('cpu', torch.float64)
            if class_weights.shape != (routing.shape[0], self.num_classes):
                raise ValueError(f'class_weights must be ({routing.shape[0]}, {self.num_classes}), '
                                 f'got {tuple(class_weights.shape)}')
            self.class_weight += class_weights.sum(dim=0)
            self.class_sum += class_weights.T @ centred
            self.class_sum_sq += class_weights.T @ centred.square()

    def class_specificity(self) -> Dict[str, Any]:
        """``eta²`` (fraction of routing variance explained by class, summed over experts), its bias-corrected
        ``epsilon²``, ``eta²`` per expert, and the chance level ``(k - 1) / (n - 1)`` of ``eta²``."""
        present = self.class_weight > 0
        n = float(self.class_weight.sum())
        k = int(present.sum())
        result: Dict[str, Any] = dict(eta_squared=0.0, epsilon_squared=0.0, chance_eta_squared=None,
                                      eta_squared_per_expert=[0.0] * self.num_experts, samples=n, classes=k)
        if k < 2 or n <= k:
            return result
        total_mean = self.class_sum.sum(dim=0) / n
        ss_total = (self.class_sum_sq.sum(dim=0) - n * total_mean.square()).clamp_min(0)
        class_means = self.class_sum[present] / self.class_weight[present, None]
        ss_between = (self.class_weight[present, None] * (class_means - total_mean).square()).sum(dim=0)
        ss_between = torch.minimum(ss_between, ss_total)
        result['chance_eta_squared'] = (k - 1) / (n - 1)
        # Variance below float64 resolution of the sums is constant routing: nothing to explain.
        varying = ss_total > 1e-12 * max(n, 1.0)
        if not bool(varying.any()):
            return result
        total, between = float(ss_total[varying].sum()), float(ss_between[varying].sum())
        within = total - between
        result['eta_squared'] = between / total
        result['epsilon_squared'] = (between - (k - 1) * within / (n - k)) / total
        per_expert = torch.where(varying, ss_between / ss_total.clamp_min(1e-300), torch.zeros_like(ss_total))
        result['eta_squared_per_expert'] = per_expert.tolist()
        return result

    def bimodality_coefficient(self) -> Optional[float]:
        """Sarle's bimodality coefficient ``(g² + 1) / (kurtosis + 3 (n-1)² / ((n-2)(n-3)))`` of all routing values
        of the layer (pooled over experts); > 5/9 (the uniform's value) suggests a bimodal distribution."""
        n = self.count * self.num_experts
        if n < 4:
            return None
        m1, m2, m3, m4 = (float(v) / n for v in self.raw_moments)
        var = m2 - m1 * m1
        if var <= 1e-12:
            return None
        mu3 = m3 - 3 * m1 * m2 + 2 * m1**3
        mu4 = m4 - 4 * m1 * m3 + 6 * m1 * m1 * m2 - 3 * m1**4
        skewness = mu3 / var**1.5
        excess_kurtosis = mu4 / var**2 - 3
        return (skewness**2 + 1) / (excess_kurtosis + 3 * (n - 1)**2 / ((n - 2) * (n - 3)))

    def summary(self, class_names: Sequence[str]) -> Dict[str, Any]:
        """Every number of this layer as plain Python (JSON-ready)."""
        count = max(self.count, 1)
        shift = self.shift if self.shift is not None else torch.zeros(self.num_experts, dtype=torch.float64)
        mean = self.sum / count + shift
        var = (self.sum_sq / count - (self.sum / count).square()).clamp_min(0)
        values = max(self.count * self.num_experts, 1)
        class_means = {}
        for index, name in enumerate(class_names):
            weight = float(self.class_weight[index])
            if weight > 0:
                class_means[name] = (self.class_sum[index] / weight + shift).tolist()
        return dict(
            num_experts=self.num_experts,
            images=self.count,
            mean=mean.tolist(),
            std=var.sqrt().tolist(),
            mean_std_across_images=float(var.sqrt().mean()),
            constant=bool(var.sqrt().mean() < CONSTANT_STD),
            class_samples={name: float(self.class_weight[i]) for i, name in enumerate(class_names)},
            class_means=class_means,
            specificity=self.class_specificity(),
            histogram=(self.histogram / values).tolist(),
            out_of_range_fraction=self.out_of_range / values,
            near_zero_fraction=float(self.near_zero.sum()) / values,
            near_one_fraction=float(self.near_one.sum()) / values,
            bimodality_coefficient=self.bimodality_coefficient(),
            mean_entropy=self.entropy_sum / count,
            expert_min=self.minimum.tolist(),
            expert_max=self.maximum.tolist(),
            expert_on_fraction=(self.on / count).tolist(),
            expert_dominant_fraction=(self.dominant / count).tolist(),
            expert_near_zero_fraction=(self.near_zero / count).tolist(),
        )


class RoutingStatistics:
    """Per-layer :class:`LayerRoutingStats`, created on first sight of a layer and kept in depth order."""

    def __init__(self, class_names: Sequence[str], num_bins: int = 20) -> None:
        self.class_names = list(class_names)
        self.num_bins = num_bins
        self.layers: 'OrderedDict[str, LayerRoutingStats]' = OrderedDict()
        self.images = 0
        self.images_without_gt = 0

    def update(self, routing_by_layer: Dict[str, Tensor], class_weights: Optional[Tensor] = None) -> None:
        """Add one batch: ``routing_by_layer[name] (B, E)``, ``class_weights (B, C)`` (rows of zeros: no GT)."""
        batch = None
        for name, routing in routing_by_layer.items():
            if name not in self.layers:
                self.layers[name] = LayerRoutingStats(routing.shape[1], len(self.class_names), self.num_bins)
            weights = class_weights
            if weights is not None and routing.shape[0] != weights.shape[0]:
                if routing.shape[0] % weights.shape[0]:
                    raise ValueError(f'{name}: {routing.shape[0]} routing vectors for {weights.shape[0]} images')
                weights = weights.repeat(routing.shape[0] // weights.shape[0], 1)  # module called several times
            self.layers[name].update(routing, weights)
            batch = routing.shape[0] if batch is None else batch
        if class_weights is not None:
            self.images += class_weights.shape[0]
            self.images_without_gt += int((class_weights.sum(dim=1) == 0).sum())
        elif batch is not None:
            self.images += batch

    def summary(self, assign: str = 'area') -> Dict[str, Any]:
        """JSON-ready numbers: per layer (depth order) and the dataset-level counts."""
        layers = []
        for depth, (name, stats) in enumerate(self.layers.items()):
            layers.append(dict(depth=depth, name=name, label=short_layer_name(name), stage=stage_of(name),
                               **stats.summary(self.class_names)))
        return dict(class_names=self.class_names, assign=assign, images=self.images,
                    images_without_gt=self.images_without_gt, num_bins=self.num_bins,
                    near_zero_threshold=NEAR_ZERO, near_one_threshold=NEAR_ONE, constant_std=CONSTANT_STD,
                    layers=layers,
                    depth_trend=specificity_depth_trend(layers))


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


def class_weights_of(data_samples: Sequence[Any], num_classes: int, assign: str = 'area') -> Tensor:
    """``(B, C)`` weights of each image for each class from its ground-truth boxes (``gt_instances.labels`` and
    ``.bboxes``): 1 for the class with the largest total box area (``'area'``), 1 per class present
    (``'presence'``) or the number of boxes of the class (``'boxes'``). Rows of zeros for images without boxes."""
    if assign not in ASSIGN_MODES:
        raise ValueError(f'assign must be one of {ASSIGN_MODES}, got assign={assign!r}')
    weights = torch.zeros(len(data_samples), num_classes, dtype=torch.float64)
    for row, sample in enumerate(data_samples):
        gt = getattr(sample, 'gt_instances', None)
        labels = getattr(gt, 'labels', None) if gt is not None else None
        if labels is None or len(labels) == 0:
            continue
        labels = torch.as_tensor(labels).long().cpu().flatten()
        counts = torch.bincount(labels, minlength=num_classes)[:num_classes].double()
        if assign == 'boxes':
            weights[row] = counts
        elif assign == 'presence':
            weights[row] = (counts > 0).double()
        else:
            weights[row, dominant_class(labels, box_areas(gt.bboxes), counts)] = 1.0
    return weights


def box_areas(bboxes: Any) -> Tensor:
    """Areas of ``(N, 4)`` ``x1, y1, x2, y2`` boxes (a tensor or mmdet's ``HorizontalBoxes``)."""
    boxes = torch.as_tensor(bboxes.tensor if hasattr(bboxes, 'tensor') else bboxes).double().cpu().reshape(-1, 4)
    return (boxes[:, 2] - boxes[:, 0]).clamp_min(0) * (boxes[:, 3] - boxes[:, 1]).clamp_min(0)


def dominant_class(labels: Tensor, areas: Tensor, counts: Tensor) -> int:
    """The class with the largest total box area; ties: more boxes, then the lower index."""
    class_area = torch.zeros_like(counts).index_add_(0, labels, areas)
    tied = class_area >= class_area.max() * (1 - 1e-9)
    scores = torch.where(tied, counts, torch.full_like(counts, -1.0))
    return int(scores.argmax())


def run_model_tensor_mode(model: nn.Module, data_batch: Any) -> Any:
    """mmengine's test-step without post-processing: ``data_preprocessor`` then ``forward(mode='tensor')``;
    returns the preprocessed batch (for its data samples)."""
    data = model.data_preprocessor(data_batch, False)
    if isinstance(data, dict):
        model(**data, mode='tensor')
    else:
        model(*data, mode='tensor')
    return data


def collect_routing_statistics(model: nn.Module, batches: Iterable[Any], class_names: Sequence[str],
                               max_images: Optional[int] = None, assign: str = 'area', num_bins: int = 20,
                               progress: Optional[Callable[[int], None]] = None) -> RoutingStatistics:
    """Run ``model`` (an mmengine model: ``data_preprocessor`` + ``forward(..., mode='tensor')``) over ``batches``
    (a dataloader) and fold every routing vector into :class:`RoutingStatistics`, ``progress(num_images)`` after
    each batch. Stops after ``max_images`` images (the last batch is truncated)."""
    stats = RoutingStatistics(class_names, num_bins)
    was_training = model.training
    model.eval()
    seen = 0
    try:
        with RoutingRecorder(model) as recorder, torch.no_grad():
            if not recorder.modules:
                raise ValueError('the model has no CondConv routing modules to analyse (num_experts=0?)')
            for data_batch in batches:
                data = run_model_tensor_mode(model, data_batch)
                samples = data.get('data_samples') if isinstance(data, dict) else data[1]
                weights = class_weights_of(samples, len(class_names), assign)
                routing = recorder.pop()
                keep = weights.shape[0] if max_images is None else min(weights.shape[0], max_images - seen)
                if keep < weights.shape[0]:
                    routing = OrderedDict((name, r[:keep]) for name, r in routing.items())
                    weights = weights[:keep]
                stats.update(routing, weights)
                seen += keep
                if progress is not None:
                    progress(keep)
                if max_images is not None and seen >= max_images:
                    break
    finally:
        model.train(was_training)
    return stats


def write_numbers(summary: Dict[str, Any], out_dir: str) -> Dict[str, str]:
    """``routing_stats.json`` (everything), ``routing_layers.csv`` (one row per layer) and
    ``routing_class_means.csv`` (layer, class, expert, mean) under ``out_dir``; returns their paths."""
    import csv
    import json
    import os
    os.makedirs(out_dir, exist_ok=True)
    paths = dict(json=os.path.join(out_dir, 'routing_stats.json'),
                 layers_csv=os.path.join(out_dir, 'routing_layers.csv'),
                 class_means_csv=os.path.join(out_dir, 'routing_class_means.csv'))
    with open(paths['json'], 'w') as file:
        json.dump(summary, file, indent=1)
    columns = ['depth', 'name', 'stage', 'num_experts', 'images', 'eta_squared', 'epsilon_squared',
               'chance_eta_squared', 'mean_std_across_images', 'constant', 'mean_entropy', 'near_zero_fraction',
               'near_one_fraction', 'bimodality_coefficient', 'max_expert_dominant_fraction']
    with open(paths['layers_csv'], 'w', newline='') as file:
        writer = csv.writer(file)
        writer.writerow(columns)
        for layer in summary['layers']:
            spec = layer['specificity']
            writer.writerow([layer['depth'], layer['name'], layer['stage'], layer['num_experts'], layer['images'],
                             _fmt(spec['eta_squared']), _fmt(spec['epsilon_squared']),
                             _fmt(spec['chance_eta_squared']), _fmt(layer['mean_std_across_images']),
                             int(layer['constant']),
                             _fmt(layer['mean_entropy']), _fmt(layer['near_zero_fraction']),
                             _fmt(layer['near_one_fraction']), _fmt(layer['bimodality_coefficient']),
                             _fmt(max(layer['expert_dominant_fraction']))])
    with open(paths['class_means_csv'], 'w', newline='') as file:
        writer = csv.writer(file)
        writer.writerow(['depth', 'name', 'class', 'expert', 'mean_routing'])
        for layer in summary['layers']:
            for class_name, means in layer['class_means'].items():
                for expert, value in enumerate(means):
                    writer.writerow([layer['depth'], layer['name'], class_name, expert, _fmt(value)])
    return paths


def _fmt(value: Optional[float]) -> str:
    return '' if value is None else f'{value:.6g}'


def stage_summaries(routing_by_layer: Dict[str, Tensor], near_zero: float = NEAR_ZERO,
                    near_one: float = NEAR_ONE) -> 'OrderedDict[str, Dict[str, float]]':
    """Per-stage numbers of one batch for training-time logging: mean normalised entropy, mean and std of the
    weights, fractions near 0 / near 1, and the across-batch std (mean over experts; ~0 means collapsed)."""
    grouped: 'OrderedDict[str, List[Tensor]]' = OrderedDict()
    for name, routing in routing_by_layer.items():
        grouped.setdefault(stage_of(name), []).append(routing.detach().float())
    result: 'OrderedDict[str, Dict[str, float]]' = OrderedDict()
    for stage, routings in grouped.items():
        values = torch.cat([r.flatten() for r in routings])
        result[stage] = dict(
            entropy=float(torch.cat([normalized_entropy(r) for r in routings]).mean()),
            mean=float(values.mean()),
            std=float(values.std(unbiased=False)),
            near0=float((values < near_zero).float().mean()),
            near1=float((values > near_one).float().mean()),
            batch_std=float(torch.stack([across_batch_std(r) for r in routings]).mean()),
        )
    return result


def across_batch_std(routing: Tensor) -> Tensor:
    """How different the examples' routing vectors are: std over the batch, averaged over experts (0 if B = 1)."""
    if routing.shape[0] < 2:
        return routing.new_zeros(())
    return routing.float().std(dim=0, unbiased=False).mean()


__all__ = [
    'RoutingRecorder', 'RoutingStatistics', 'LayerRoutingStats', 'find_routing_modules', 'is_routing_module',
    'short_layer_name', 'stage_of', 'normalized_entropy', 'class_weights_of', 'collect_routing_statistics',
    'run_model_tensor_mode', 'write_numbers', 'box_areas', 'dominant_class', 'stage_summaries', 'across_batch_std',
    'specificity_depth_trend',
    'ASSIGN_MODES', 'NEAR_ZERO', 'NEAR_ONE', 'CONSTANT_STD'
]
