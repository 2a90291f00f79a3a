"""Find the routing modules of a model, name them, and record their ``(B, E)`` outputs with forward hooks.

*Routing modules* produce the routing weights ``r(x)`` (Yang et al., NeurIPS 2019, eq. (2)): a CondConv2d's own
``.routing``, the one routing module a block shares between its CondConvs, or a ``CondConvSSDHead``'s
``level_routings[l]``. :class:`RoutingRecorder` hooks each of them (named by its module path), so per-layer and
block-shared routing are both captured, and holds only the latest vectors.
"""
import re
from collections import OrderedDict
from typing import Any, Callable, Dict, List

import torch
import torch.nn as nn
from torch import Tensor

from condconv_det.layers.pooled_routing import PooledLinearRouting

_ROUTING_NAME = re.compile(r'(^|\.)(routing|level_routings\.\d+)$')
CONTAINERS = (nn.ModuleList, nn.Sequential, nn.ModuleDict)


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


def routing_owner(model: nn.Module, routing: str) -> str:
    """The module whose CondConvs the routing module at path ``routing`` feeds: the module holding it, above
    containers (``a.b.routing`` -> ``a.b``, ``head.level_routings.2`` -> ``head``; ``''`` is ``model`` itself)."""
    path = routing.rpartition('.')[0]
    while path and isinstance(model.get_submodule(path), CONTAINERS):
        path = path.rpartition('.')[0]
    return path


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
