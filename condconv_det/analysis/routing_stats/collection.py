"""Run a model over a dataloader and fold every routing vector into :class:`RoutingStatistics`."""
from collections import OrderedDict
from typing import Any, Callable, Iterable, Optional, Sequence

import torch
import torch.nn as nn

from .accumulators import RoutingStatistics
from .class_assignment import class_weights_of
from .recording import RoutingRecorder


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
