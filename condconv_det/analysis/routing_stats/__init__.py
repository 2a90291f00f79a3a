"""CondConv routing statistics: record the routing vectors ``r(x) = sigmoid(GAP(x) · R + b)`` (Yang et al., NeurIPS
2019, eq. (2)) with forward hooks and summarise them in a streaming way, one concern per module:

- :mod:`.recording`: find and name the routing modules, record their ``(B, E)`` outputs (:class:`RoutingRecorder`);
- :mod:`.accumulators`: fixed-size per-layer sums, histograms and moments (:class:`RoutingStatistics`);
- :mod:`.class_assignment`: the class each image's routing vector counts for; :mod:`.depth_trend`: specificity vs
  depth; :mod:`.collection`: the loop over a dataloader; :mod:`.numbers_files`: the JSON/CSV files;
- :mod:`.training_summaries`: per-stage numbers of one batch, for ``RoutingStatsHook``.

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
from .accumulators import CONSTANT_STD, NEAR_ONE, NEAR_ZERO, LayerRoutingStats, RoutingStatistics, normalized_entropy
from .class_assignment import ASSIGN_MODES, box_areas, class_weights_of, dominant_class
from .collection import collect_routing_statistics, run_model_tensor_mode
from .depth_trend import specificity_depth_trend
from .numbers_files import write_numbers
from .recording import (RoutingRecorder, find_routing_modules, is_routing_module, routing_owner, short_layer_name,
                        stage_of)
from .training_summaries import across_batch_std, stage_summaries

__all__ = [
    'RoutingRecorder', 'RoutingStatistics', 'LayerRoutingStats', 'find_routing_modules', 'is_routing_module',
    'routing_owner',
    'short_layer_name', 'stage_of', 'normalized_entropy', 'class_weights_of', 'collect_routing_statistics',
    'run_model_tensor_mode', 'write_numbers', 'box_areas', 'dominant_class', 'stage_summaries', 'across_batch_std',
    'specificity_depth_trend', 'ASSIGN_MODES', 'NEAR_ZERO', 'NEAR_ONE', 'CONSTANT_STD'
]
