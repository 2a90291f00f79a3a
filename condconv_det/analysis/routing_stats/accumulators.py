"""Streaming per-layer accumulators of routing vectors: moments, histograms, per-class sums (memory
``O(layers × classes × experts)`` whatever the number of images), and the class specificity ``eta²`` / ``epsilon²``
computed from them (see :mod:`condconv_det.analysis.routing_stats`)."""
import math
from collections import OrderedDict
from typing import Any, Dict, Optional, Sequence

import torch
from torch import Tensor

from .depth_trend import specificity_depth_trend
from .recording import short_layer_name, stage_of

NEAR_ZERO = 0.1  # routing weights below this count as "expert off"
NEAR_ONE = 0.9  # and above this as "expert on"
CONSTANT_STD = 1e-3  # routing whose std across images (mean over experts) is below this is ~constant (static conv)


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
