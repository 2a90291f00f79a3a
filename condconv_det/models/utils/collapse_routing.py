"""Deploy-time collapse of CondConv routing that does not route (a ``switch_to_deploy()`` for CondConv).

A CondConv layer computes ``y = (Σ_i r_i(x) W_i) * x + Σ_i r_i(x) b_i`` (Yang et al., NeurIPS 2019, eq. (1)). When
its routing vector is the same ``r̄`` for every image, that is one static convolution with the mean-mixed kernel
``W̄ = Σ_i r̄_i W_i`` and bias ``b̄ = Σ_i r̄_i b_i``; an expert whose weight ``r_i`` stays near 0 on every image
contributes ``r_i (W_i * x + b_i) ≈ 0`` and can be dropped. Three steps:

1. :func:`calibrate_routing` runs the model over calibration batches and measures, per routing module (a
   CondConv2d's own ``.routing``, a block's shared ``routing``, a head's ``level_routings[l]``), the per-expert mean,
   std and max ``|r_i|`` over images (``condconv_det.analysis.routing_stats``), and records which CondConv2d layers
   receive its output (:class:`RoutingConsumers`: the routing tensor a CondConv2d is called with, matched by
   identity to the routing modules' outputs, not by module names).
2. :func:`plan_collapse` decides per routing module, for a tolerance ``T``: ``collapse`` when its std across images
   (max over experts) is below ``T``; else ``drop_experts`` for the experts whose ``max |r_i|`` over images is below
   ``T``; else ``keep``.
3. :func:`apply_collapse_plan` changes the model in place: every CondConv2d a collapsed routing module feeds becomes
   a :class:`CollapsedCondConv2d` (an ``nn.Conv2d`` holding ``W̄``, ``b̄``) and the routing module is removed;
   dropping experts rebuilds each CondConv2d with the kept experts and restricts the routing module's output to them
   (:class:`ExpertSubsetRouting`). Only ``CondConv2d``'s public API (constructor arguments, ``weight``, ``bias``,
   ``routing``) is used. The callers stay unchanged: a replacement accepts and ignores the routing argument
   (``None`` after the collapse) that blocks pass to their convolutions.

Errors of the collapse, per image: exact for constant routing; for a collapsed layer, ``Σ_i (r_i - r̄_i)(W_i * x +
b_i)``; for dropped experts, ``Σ_dropped r_i (W_i * x + b_i)`` with ``|r_i| < T``.

**The collapsed model as a config.** ``type='RoutingCollapsedModel'`` (:func:`build_routing_collapsed_model`,
registered in mmdet's ``MODELS``: mmengine registries build functions as well as classes) takes ``model`` (the
original model config) and ``plan`` (the non-``keep`` decisions of :func:`plan_collapse`), builds the original and
applies the plan, and returns the detector itself, not a wrapper: its state-dict keys are the original's minus the
removed routing, so a collapsed checkpoint loads through mmdet's ``tools/test.py``, ``Runner`` and every tool that
calls ``MODELS.build(cfg.model)``. The plan carries the mean routing, so a model built from the config without a
checkpoint is collapsed from its initial experts; the checkpoint holds the collapsed weights.
"""
import copy
import math
from collections import OrderedDict, defaultdict
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Set

import torch
import torch.nn as nn
from mmdet.registry import MODELS
from mmengine.model import is_model_wrapper
from mmengine.registry import MODELS as ROOT_MODELS
from torch import Tensor

from condconv_det.analysis.routing_stats import collect_routing_statistics, find_routing_modules, routing_owner
from condconv_det.analysis.routing_stats.recording import CONTAINERS
from condconv_det.layers import CondConv2d

_PLAN_KEYS = dict(collapse={'mean_routing'}, drop_experts={'keep_experts'})
_INFO_KEYS = {'std', 'max'}  # measured numbers, kept in a plan entry for the reader


@ROOT_MODELS.register_module()
class CollapsedCondConv2d(nn.Conv2d):
    """The static convolution a :class:`CondConv2d` computes under a constant routing ``r̄``: kernel
    ``W̄ = Σ_i r̄_i W_i``, bias ``b̄ = Σ_i r̄_i b_i``. ``forward(x, routing_weights=None)`` ignores
    ``routing_weights``, so the blocks that hand their shared routing to their convolutions need no change."""

    def forward(self, x: Tensor, routing_weights: Optional[Tensor] = None) -> Tensor:
        return super().forward(x)

    @classmethod
    def from_condconv(cls, conv: CondConv2d, mean_routing: Sequence[float]) -> 'CollapsedCondConv2d':
        """The static convolution of ``conv`` with its experts mixed by ``mean_routing`` (``E`` weights), in
        float64 then cast to the layer's dtype."""
        mean = torch.as_tensor(mean_routing, dtype=torch.float64, device=conv.weight.device)
        static = cls(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride, padding=conv.padding,
                     dilation=conv.dilation, groups=conv.groups, bias=conv.bias is not None,
                     padding_mode=conv.padding_mode, device=conv.weight.device, dtype=conv.weight.dtype)
        with torch.no_grad():
            static.weight.copy_(torch.tensordot(mean, conv.weight.detach().double(), dims=1))
            if conv.bias is not None:
                static.bias.copy_(mean @ conv.bias.detach().double())
        return static.train(conv.training)


class ExpertSubsetRouting(nn.Module):
    """A routing module restricted to some of its experts: ``routing(x)[:, keep]``.

    The kept experts' weights are exactly the original ones (no renormalisation, also for softmax routing), so the
    only change is the dropped experts' contribution ``Σ_dropped r_i (W_i * x + b_i)``.
    """

    def __init__(self, routing: nn.Module, keep: Sequence[int]) -> None:
        super().__init__()
        self.routing = routing
        self.register_buffer('keep', torch.as_tensor(list(keep), dtype=torch.long), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        return self.routing(x).index_select(1, self.keep)

    def extra_repr(self) -> str:
        return f'keep={self.keep.tolist()}'


class RemovedRouting(nn.Module):
    """Stands in for a collapsed routing module inside a container that needs a module (``CondConvSSDHead``'s
    ``level_routings``); returns ``None``, which the callers hand to convolutions that ignore it. No parameters."""

    def forward(self, x: Tensor) -> None:
        return None


class RoutingConsumers:
    """Records which CondConv2d layers each routing module feeds, during the forward passes run inside it.

    A forward hook keeps each routing module's latest output; a forward pre-hook on every CondConv2d takes the
    routing tensor it is called with and finds the routing module that produced that very tensor (identity, not
    value: constant routings of different modules may be equal). A CondConv2d called without routing uses its own
    ``.routing``. ``fed_by[conv]`` holds ``None`` for a routing tensor that is no routing module's output (e.g. one
    transformed by the caller). Use as a context manager (hooks removed on exit).
    """

    def __init__(self, model: nn.Module) -> None:
        self.routing_modules = find_routing_modules(model)
        names_by_module = {id(module): name for name, module in self.routing_modules.items()}
        self.conv_names = [name for name, module in model.named_modules() if isinstance(module, CondConv2d)]
        self.feeds: Dict[str, Set[str]] = defaultdict(set)
        self.fed_by: Dict[str, Set[Optional[str]]] = defaultdict(set)
        self._latest: Dict[str, Tensor] = {}
        self._handles = []
        for name, module in self.routing_modules.items():
            self._handles.append(module.register_forward_hook(self._routing_hook(name)))
        for name, module in model.named_modules():
            if isinstance(module, CondConv2d):
                own = names_by_module.get(id(module.routing)) if module.routing is not None else None
                self._handles.append(module.register_forward_pre_hook(self._conv_hook(name, own), with_kwargs=True))

    def _routing_hook(self, name: str) -> Callable:

        def hook(module: nn.Module, inputs: Any, output: Any) -> None:
            self._latest[name] = output

        return hook

    def _conv_hook(self, name: str, own: Optional[str]) -> Callable:

        def hook(module: nn.Module, args: tuple, kwargs: dict) -> None:
            routing = kwargs.get('routing_weights', args[1] if len(args) > 1 else None)
            if routing is None:
                provider = own
            else:
                provider = next((key for key, output in self._latest.items() if output is routing), None)
            self.fed_by[name].add(provider)
            if provider is not None:
                self.feeds[provider].add(name)

        return hook

    def convs_fed_by(self, routing: str) -> List[str]:
        """The CondConv2d layers that received ``routing``'s output, in module order."""
        return [name for name in self.conv_names if name in self.feeds.get(routing, ())]

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self._latest = {}

    def __enter__(self) -> 'RoutingConsumers':
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


def calibrate_routing(model: nn.Module, batches: Iterable[Any], class_names: Sequence[str] = (),
                      max_images: Optional[int] = None,
                      progress: Optional[Callable[[int], None]] = None) -> 'OrderedDict[str, Dict[str, Any]]':
    """Per routing module (depth order): ``num_experts``, ``images``, per-expert ``mean``, ``std`` and ``max_abs``
    (max over images of ``|r_i|``), the CondConv2d layers it feeds (``convs``) and the layers that forbid changing it
    (``blocking_convs``): those of ``convs`` that also receive other routing, and the CondConv2d layers of its owner
    (the module holding it) that receive a routing tensor of no routing module (one the owner transformed, which
    may come from it).

    ``model`` is an mmengine model (``data_preprocessor`` + ``forward(..., mode='tensor')``), run in eval mode over
    ``batches`` (a dataloader) by :func:`~condconv_det.analysis.routing_stats.collect_routing_statistics`;
    ``class_names`` are the dataset's classes when the batches carry GT boxes. Raises ``ValueError`` when the model
    has no CondConv routing.
    """
    if is_model_wrapper(model):
        model = model.module
    with RoutingConsumers(model) as consumers:
        stats = collect_routing_statistics(model, batches, class_names, max_images=max_images, progress=progress)
    calibration: 'OrderedDict[str, Dict[str, Any]]' = OrderedDict()
    for name, layer in stats.layers.items():
        summary = layer.summary(list(class_names))
        convs = consumers.convs_fed_by(name)
        calibration[name] = dict(
            num_experts=layer.num_experts,
            images=layer.count,
            mean=summary['mean'],
            std=summary['std'],
            max_abs=[max(abs(low), abs(high)) for low, high in zip(summary['expert_min'], summary['expert_max'])],
            convs=convs,
            blocking_convs=_blocking_convs(model, consumers, name))
    return calibration


def _blocking_convs(model: nn.Module, consumers: RoutingConsumers, routing: str) -> List[str]:
    """CondConv2d layers that forbid changing ``routing``: its receivers that also take other routing, and the
    layers of its owner that take a routing tensor of no routing module."""
    owner = routing_owner(model, routing)
    fed = consumers.convs_fed_by(routing)
    blocking = []
    for conv in consumers.conv_names:
        providers = consumers.fed_by.get(conv, set())
        shares = conv in fed and providers != {routing}
        untraced = None in providers and (not owner or conv.startswith(owner + '.'))
        if shares or untraced:
            blocking.append(conv)
    return blocking


def check_tolerance(tol: float) -> float:
    """``tol`` as a float; ``ValueError`` unless it is a finite number ``>= 0``."""
    if isinstance(tol, bool) or not isinstance(tol, (int, float)) or not math.isfinite(tol) or tol < 0:
        raise ValueError(f'the collapse tolerance must be a finite number >= 0, got tol={tol!r}')
    return float(tol)


def plan_collapse(calibration: Mapping[str, Mapping[str, Any]], tol: float) -> List[Dict[str, Any]]:
    """One decision per calibrated routing module: ``dict(action, routing, convs, std, max, ...)`` with ``std``
    the largest per-expert std across images and ``max`` the smallest per-expert ``max |r_i|`` (the least used
    expert's peak).

    ``collapse`` (with ``mean_routing``) when ``std < tol``; otherwise ``drop_experts`` (with the sorted
    ``keep_experts``) when some experts have ``max |r_i| < tol``; otherwise ``keep``. A routing module that feeds no
    CondConv2d directly, or has ``blocking_convs`` (see :func:`calibrate_routing`), is kept, with a ``reason``.
    ``tol = 0`` changes nothing.
    """
    tol = check_tolerance(tol)
    decisions = []
    for name, layer in calibration.items():
        if layer['images'] < 2:
            raise ValueError(f'{name}: calibrated on {layer["images"]} image(s); the variation of routing across '
                             'images needs at least 2')
        decision: Dict[str, Any] = dict(action='keep', routing=name, convs=list(layer['convs']),
                                        std=max(layer['std']), max=min(layer['max_abs']))
        keep = [index for index, peak in enumerate(layer['max_abs']) if peak >= tol]
        if not layer['convs']:
            decision['reason'] = 'its output reaches no CondConv2d directly'
        elif layer['blocking_convs']:
            decision['reason'] = f'{", ".join(layer["blocking_convs"])} also take other or untraced routing'
        elif decision['std'] < tol:
            decision.update(action='collapse', mean_routing=[float(value) for value in layer['mean']])
        elif len(keep) < layer['num_experts']:
            decision.update(action='drop_experts', keep_experts=keep)
        decisions.append(decision)
    return decisions


def config_plan(decisions: Iterable[Mapping[str, Any]]) -> List[Dict[str, Any]]:
    """The decisions that change the model, as ``plan`` of ``type='RoutingCollapsedModel'``."""
    return [{key: copy.deepcopy(value) for key, value in decision.items() if key != 'reason'}
            for decision in decisions if decision['action'] != 'keep']


def _set_module(model: nn.Module, path: str, module: Optional[nn.Module]) -> None:
    """Put ``module`` at ``path``; ``None`` removes an attribute, or leaves a :class:`RemovedRouting` in a
    container (ModuleList, Sequential, ModuleDict), whose indexing the callers rely on."""
    parent_path, _, attr = path.rpartition('.')
    parent = model.get_submodule(parent_path) if parent_path else model
    if module is None and isinstance(parent, CONTAINERS):
        module = RemovedRouting()
    setattr(parent, attr, module)


def _module_at(model: nn.Module, path: str, where: str) -> nn.Module:
    try:
        module = model.get_submodule(path)
    except AttributeError:
        module = None
    if module is None or isinstance(module, RemovedRouting):
        raise ValueError(f'{where}: {path!r} is not a module of this {type(model).__name__} (already collapsed, or '
                         'a plan written for another model config?)')
    return module


def _without_experts(conv: CondConv2d, keep: Sequence[int]) -> CondConv2d:
    """A copy of ``conv`` with only the experts ``keep``, and its own routing (if any) restricted to them."""
    reduced = CondConv2d(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride,
                         padding=conv.padding, dilation=conv.dilation, groups=conv.groups, bias=conv.bias is not None,
                         num_experts=len(keep), routing_cfg=None, strategy=conv.strategy,
                         padding_mode=conv.padding_mode).to(conv.weight.device, conv.weight.dtype)
    index = torch.as_tensor(list(keep), device=conv.weight.device)
    with torch.no_grad():
        reduced.weight.copy_(conv.weight.index_select(0, index))
        if conv.bias is not None:
            reduced.bias.copy_(conv.bias.index_select(0, index))
    if conv.routing is not None:
        reduced.routing = ExpertSubsetRouting(conv.routing, keep)
    return reduced.train(conv.training)


def _check_entry(model: nn.Module, index: int, entry: Mapping[str, Any]) -> List[CondConv2d]:
    where = f'collapse plan entry {index}'
    action = entry.get('action')
    if action not in _PLAN_KEYS:
        raise ValueError(f"{where}: action must be 'collapse' or 'drop_experts', got {action!r}")
    allowed = {'action', 'routing', 'convs'} | _PLAN_KEYS[action] | _INFO_KEYS
    missing = sorted(({'routing', 'convs'} | _PLAN_KEYS[action]) - set(entry))
    unknown = sorted(set(entry) - allowed)
    if missing or unknown:
        raise ValueError(f'{where} ({action}): missing keys {missing}, unknown keys {unknown}')
    _module_at(model, entry['routing'], where)
    if not entry['convs']:
        raise ValueError(f'{where}: {entry["routing"]} feeds no CondConv2d (convs is empty)')
    convs = []
    for path in entry['convs']:
        conv = _module_at(model, path, where)
        if not isinstance(conv, CondConv2d):
            raise ValueError(f'{where}: {path} is a {type(conv).__name__}, not a CondConv2d (already collapsed, or a '
                             'plan written for another model config?)')
        convs.append(conv)
    experts = {conv.num_experts for conv in convs}
    if len(experts) != 1:
        raise ValueError(f'{where}: the CondConv2d layers of {entry["routing"]} have different numbers of experts '
                         f'{sorted(experts)}')
    num_experts = experts.pop()
    if action == 'collapse' and len(entry['mean_routing']) != num_experts:
        raise ValueError(f'{where}: mean_routing has {len(entry["mean_routing"])} weights for {num_experts} experts')
    if action == 'drop_experts':
        keep = list(entry['keep_experts'])
        if not keep or keep != sorted(set(keep)) or keep[0] < 0 or keep[-1] >= num_experts:
            raise ValueError(f'{where}: keep_experts must be sorted distinct indices in [0, {num_experts}), '
                             f'got {keep}')
    return convs


def apply_collapse_plan(model: nn.Module, plan: Iterable[Mapping[str, Any]]) -> nn.Module:
    """Apply the ``collapse`` and ``drop_experts`` entries of ``plan`` (:func:`plan_collapse` decisions or
    :func:`config_plan`) to ``model`` in place; ``keep`` entries are skipped. Every entry is checked against the
    model first (``ValueError`` naming the entry), so a plan that does not fit changes nothing. Returns ``model``."""
    entries = [(index, entry) for index, entry in enumerate(plan) if entry.get('action') != 'keep']
    checked = [(entry, _check_entry(model, index, entry)) for index, entry in entries]
    paths = [entry['routing'] for entry, _ in checked] + [path for entry, _ in checked for path in entry['convs']]
    repeated = sorted({path for path in paths if paths.count(path) > 1})
    if repeated:
        raise ValueError(f'collapse plan: {repeated} appear in more than one entry')
    for entry, convs in checked:
        routing_path = entry['routing']
        owned = any(routing_path.startswith(path + '.') for path in entry['convs'])  # a conv's own .routing
        if entry['action'] == 'collapse':
            for path, conv in zip(entry['convs'], convs):
                _set_module(model, path, CollapsedCondConv2d.from_condconv(conv, entry['mean_routing']))
            if not owned:
                _set_module(model, routing_path, None)
        else:
            keep = list(entry['keep_experts'])
            for path, conv in zip(entry['convs'], convs):
                _set_module(model, path, _without_experts(conv, keep))
            if not owned:
                _set_module(model, routing_path, ExpertSubsetRouting(model.get_submodule(routing_path), keep))
    return model


@MODELS.register_module(name='RoutingCollapsedModel')
def build_routing_collapsed_model(model: Mapping[str, Any], plan: Sequence[Mapping[str, Any]],
                                  data_preprocessor: Optional[Mapping[str, Any]] = None) -> nn.Module:
    """``type='RoutingCollapsedModel'``: build ``model`` (the original model config) and apply ``plan``; returns
    the model itself (same class, keys of the original minus the removed routing).

    ``data_preprocessor`` is accepted because mmengine's ``Runner`` sets it on the model config when the config has
    a top-level ``data_preprocessor``; it fills the original model's own if that has none.
    """
    model = copy.deepcopy(model)
    if data_preprocessor is not None:
        model.setdefault('data_preprocessor', data_preprocessor)
    return apply_collapse_plan(MODELS.build(model), plan)


__all__ = [
    'CollapsedCondConv2d', 'ExpertSubsetRouting', 'RemovedRouting', 'RoutingConsumers', 'calibrate_routing',
    'check_tolerance', 'plan_collapse', 'config_plan', 'apply_collapse_plan', 'build_routing_collapsed_model',
]
