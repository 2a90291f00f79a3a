"""Training-time CondConv routing statistics, and a warning when routing collapses.

Enable from a config::

    custom_hooks = [dict(type='RoutingStatsHook', interval=50)]

Every ``interval`` training iterations (and at the first), the routing vectors ``r(x)`` of that iteration's batch
(Yang et al., NeurIPS 2019, eq. (2)) are read with forward hooks on every routing module and summarised per stage
(``backbone.layer4``, ``bbox_head.level0``, …) into the message hub as ``train/routing/<stage>/<key>``, with keys
``entropy`` (mean normalised entropy of the routing vectors: 1 = all experts mixed equally, 0 = one expert),
``mean``, ``std`` (of all weights), ``near0`` / ``near1`` (fraction of weights < 0.1 / > 0.9), plus
``train/routing/batch_std`` (std of the routing weights across the batch, mean over experts and layers) and
``train/routing/collapsed_layers``. mmengine's ``LoggerHook`` prints them and passes them to the visualizer
(TensorBoard, W&B, ``vis_data/scalars.json``). Iterations in between cost nothing (the hooks are disabled).

Routing has *collapsed* when every example of a batch gets nearly the same routing vector (across-batch std below
``collapse_std``): a CondConv then acts as one static convolution with ``E`` times the parameters. The hook warns
once (from ``collapse_after_iters`` on), with the layers and what to try. ``SoftmaxRouting`` layers at a temperature
above 1 (being annealed by ``RoutingTemperatureHook``) are near-uniform by design and are not checked. Routing is
read in training mode (BatchNorm on batch statistics); evaluation-mode routing can differ, see
``tools/analysis/routing_analysis.py``.
"""
from typing import Dict, List, Optional, Sequence, Union

from mmdet.registry import HOOKS
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from condconv_det.analysis.routing_stats import (NEAR_ONE, NEAR_ZERO, RoutingRecorder, across_batch_std,
                                                 stage_summaries)
from condconv_det.layers.validation import check_int

DataBatch = Optional[Union[dict, tuple, list]]  # as mmengine's hooks

STAGE_KEYS = ('entropy', 'mean', 'std', 'near0', 'near1')


@HOOKS.register_module()
class RoutingStatsHook(Hook):
    """Log per-stage CondConv routing statistics every ``interval`` iterations and warn once on routing collapse.

    Args:
        interval: log every ``interval`` training iterations (use the ``LoggerHook`` interval or a multiple).
        collapse_std: a layer has collapsed when the std of its routing weights across the batch (mean over experts)
            is below this.
        near_zero, near_one: thresholds of the ``near0`` / ``near1`` fractions.
        warn_collapse: warn (once) on collapse.
        collapse_after_iters: check for collapse only from this iteration on (a model upcycled from a static one
            starts with constant routing on purpose; it should diverge during the warm-up). Logged from the start.
    """

    priority = 'NORMAL'  # before LoggerHook (BELOW_NORMAL), so the logged line has this iteration's numbers

    def __init__(self, interval: int = 50, collapse_std: float = 1e-3, near_zero: float = NEAR_ZERO,
                 near_one: float = NEAR_ONE, warn_collapse: bool = True, collapse_after_iters: int = 100) -> None:
        check_int('interval', interval)
        if not collapse_std >= 0:
            raise ValueError(f'collapse_std must be >= 0, got collapse_std={collapse_std!r}')
        if not 0 <= near_zero < near_one <= 1:
            raise ValueError(f'need 0 <= near_zero < near_one <= 1, got near_zero={near_zero!r}, near_one={near_one!r}')
        self.interval = interval
        self.collapse_std = collapse_std
        self.near_zero = near_zero
        self.near_one = near_one
        self.warn_collapse = warn_collapse
        self.collapse_after_iters = collapse_after_iters
        self.collapse_warned = False
        self._recorder: Optional[RoutingRecorder] = None

    def before_train(self, runner) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        self._recorder = RoutingRecorder(model, enabled=False)
        if not self._recorder.modules:
            runner.logger.warning('RoutingStatsHook: the model has no CondConv routing modules; nothing to log.')

    def _is_logging_iter(self, runner) -> bool:
        return runner.iter == 0 or self.every_n_train_iters(runner, self.interval)

    def before_train_iter(self, runner, batch_idx: int, data_batch: DataBatch = None) -> None:
        if self._recorder is not None and self._recorder.modules:
            self._recorder.enabled = self._is_logging_iter(runner)

    def after_train_iter(self, runner, batch_idx: int, data_batch: DataBatch = None, outputs=None) -> None:
        if self._recorder is None or not self._recorder.enabled:
            return
        self._recorder.enabled = False  # validation forwards are not recorded
        routing = self._recorder.pop()
        if not routing:
            return
        hub = runner.message_hub
        for stage, numbers in stage_summaries(routing, self.near_zero, self.near_one).items():
            for key in STAGE_KEYS:
                hub.update_scalar(f'train/routing/{stage}/{key}', numbers[key])
        spreads = {name: float(across_batch_std(r)) for name, r in routing.items()}
        hub.update_scalar('train/routing/batch_std', sum(spreads.values()) / len(spreads))
        collapsed = self.collapsed_layers(routing, spreads)
        hub.update_scalar('train/routing/collapsed_layers', len(collapsed))
        if collapsed and self.warn_collapse and not self.collapse_warned and runner.iter >= self.collapse_after_iters:
            self.collapse_warned = True
            runner.logger.warning(self.collapse_message(collapsed, len(routing), runner.iter,
                                                        next(iter(routing.values())).shape[0]))

    def collapsed_layers(self, routing: Dict, spreads: Dict[str, float]) -> List[str]:
        """Layers whose examples (batch of at least 2) got nearly identical routing; annealed softmax skipped."""
        collapsed = []
        for name, value in routing.items():
            module = self._recorder.modules.get(name) if self._recorder is not None else None
            if value.shape[0] < 2 or getattr(module, 'temperature', 1.0) > 1.0:
                continue
            if spreads[name] < self.collapse_std:
                collapsed.append(name)
        return collapsed

    def collapse_message(self, collapsed: Sequence[str], total: int, iteration: int, batch: int) -> str:
        shown = ', '.join(collapsed[:8]) + (f', … ({len(collapsed) - 8} more)' if len(collapsed) > 8 else '')
        return (
            f'RoutingStatsHook: CondConv routing has collapsed in {len(collapsed)}/{total} routing modules at iter '
            f'{iteration + 1}: the std of the routing weights across the {batch} examples of the batch is below '
            f'{self.collapse_std:g}, so every example uses the same expert mix and these CondConvs act as static '
            f'convolutions ({shown}). Things to try: keep weight decay off the routing FCs or give them a larger '
            "lr (optim_wrapper=dict(constructor='CondConvOptimWrapperConstructor', paramwise_cfg=dict(condconv=dict("
            "routing_decay_mult=0., routing_lr_mult=10.)))); for an upcycled model, expert_lr_mult='num_experts', "
            "expert_decay_mult='1/num_experts' there, else its experts learn E times slower than the static kernels "
            'they copy; lower the routing dropout; if the weights sit at 0 or 1 (see train/routing/*/near0, '
            'near1) the sigmoid has saturated: lower the lr or lengthen the warm-up; try SoftmaxRouting with '
            'RoutingTemperatureHook (starts near-uniform and anneals); fewer experts; or initialise the experts '
            'from a trained static model (upcycling) instead of from scratch.')

    def after_train(self, runner) -> None:
        if self._recorder is not None:
            self._recorder.remove()
            self._recorder = None
