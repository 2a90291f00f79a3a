"""Per-parameter learning rates for CondConv experts and routing (Yang et al., NeurIPS 2019, eq. (1)).

With routing ``r`` an SGD step on the experts moves the mixed kernel ``W_b = sum_i r_i W_i`` by
``-lr * sum_i r_i^2 * dL/dW_b`` (each expert's gradient is ``r_i dL/dW_b``), and weight decay shrinks it like each
expert. An upcycled layer starts at the constant routing ``r_i = 1/E`` (``models/utils/upcycle.py``), so its mixed
kernel learns ``E`` times slower than the static kernel it copies. Scaling the experts' learning rate by
``1 / sum_i r_i^2 = E`` and their weight decay by ``sum_i r_i^2 = 1/E`` makes the upcycled network take exactly the
static network's SGD steps (momentum included) as long as the routing stays uniform; the routing then moves on its
own learning rate (``routing_lr_mult``). With one expert the sigmoid routing starts at ``r = 0.5`` (the upcycled
kernel is twice the static one), so the dynamics-preserving multipliers are ``1 / r^2 = 4`` and ``r^2 = 1/4``, not
``'num_experts'`` (which gives 1; the constructor warns).
"""
import logging
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch.nn as nn
from mmdet.registry import OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.logging import print_log
from mmengine.optim import DefaultOptimWrapperConstructor

from condconv_det.layers import CondConv2d
from condconv_det.layers.pooled_routing import PooledLinearRouting

Multiplier = Union[float, str]
_PER_EXPERT = {'num_experts': lambda e: float(e), '1/num_experts': lambda e: 1.0 / e}
_KEYS = ('expert_lr_mult', 'expert_decay_mult', 'routing_lr_mult', 'routing_decay_mult', 'module_prefixes')


def _resolve(name: str, value: Multiplier, num_experts: int) -> float:
    if isinstance(value, str):
        if value not in _PER_EXPERT:
            raise ValueError(f'{name} must be a number or one of {sorted(_PER_EXPERT)}, got {name}={value!r}')
        return _PER_EXPERT[value](num_experts)
    return float(value)


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class CondConvOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """``DefaultOptimWrapperConstructor`` plus multipliers for CondConv parameters, set in
    ``paramwise_cfg['condconv']`` (every other ``paramwise_cfg`` rule still applies first; these multiply on top):

    * ``expert_lr_mult`` / ``expert_decay_mult``: for the expert kernels and biases of every ``CondConv2d``; a number,
      or ``'num_experts'`` / ``'1/num_experts'`` (per layer). ``expert_lr_mult='num_experts',
      expert_decay_mult='1/num_experts'`` is the dynamics-preserving setting for upcycled layers (module docstring).
    * ``routing_lr_mult`` / ``routing_decay_mult``: for the routing functions (``SigmoidRouting``, ``SoftmaxRouting``).
    * ``module_prefixes``: apply only under these module names, e.g. ``('backbone',)`` when only the backbone is
      upcycled and the head's experts start random (default: the whole model).

    Example::

        optim_wrapper = dict(
            constructor='CondConvOptimWrapperConstructor',
            paramwise_cfg=dict(condconv=dict(expert_lr_mult='num_experts', expert_decay_mult='1/num_experts',
                                             module_prefixes=('backbone',))))
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None) -> None:
        super().__init__(optim_wrapper_cfg, paramwise_cfg)
        condconv = dict(self.paramwise_cfg.get('condconv', {}))
        unknown = sorted(set(condconv) - set(_KEYS))
        if unknown:
            raise ValueError(f"paramwise_cfg['condconv'] has unknown keys {unknown}; allowed: {list(_KEYS)}")
        for name in _KEYS[:4]:
            value = condconv.get(name, 1.0)
            if isinstance(value, bool) or not isinstance(value, (int, float, str)):
                raise ValueError(f'{name} must be a number or one of {sorted(_PER_EXPERT)}, got {name}={value!r}')
            _resolve(name, value, 1)
            if not isinstance(value, str) and value < 0:
                raise ValueError(f'{name} must be >= 0, got {name}={value!r}')
        if ('expert_decay_mult' in condconv or 'routing_decay_mult' in condconv) and self.base_wd is None:
            raise ValueError("expert_decay_mult / routing_decay_mult need optimizer.weight_decay to be set")
        prefixes = condconv.get('module_prefixes')
        if isinstance(prefixes, str):
            prefixes = (prefixes, )
        self.condconv_prefixes: Optional[Tuple[str, ...]] = None if prefixes is None else tuple(prefixes)
        self.condconv_cfg = condconv

    def add_params(self, params: List[dict], module: nn.Module, prefix: str = '',
                   is_dcn_module: Optional[Union[int, float]] = None) -> None:
        """The default groups (one per parameter), then the CondConv multipliers on the top-level call."""
        first = len(params)
        super().add_params(params, module, prefix, is_dcn_module)
        if prefix == '' and self.condconv_cfg:
            self._scale_groups(params[first:], module)

    def _scale_groups(self, groups: Sequence[dict], model: nn.Module) -> None:
        multipliers: Dict[int, Tuple[float, float]] = {}
        counts: Dict[str, int] = {'expert': 0, 'routing': 0}
        cfg = self.condconv_cfg
        single_expert = 0
        for name, module in model.named_modules():
            if self.condconv_prefixes is not None and not name.startswith(self.condconv_prefixes):
                continue
            if isinstance(module, CondConv2d):
                single_expert += module.num_experts == 1
                lr_mult = _resolve('expert_lr_mult', cfg.get('expert_lr_mult', 1.0), module.num_experts)
                decay_mult = _resolve('expert_decay_mult', cfg.get('expert_decay_mult', 1.0), module.num_experts)
                experts = [module.weight] + ([] if module.bias is None else [module.bias])
                multipliers.update({id(p): (lr_mult, decay_mult) for p in experts})
                counts['expert'] += len(experts)
            elif isinstance(module, PooledLinearRouting):
                num_experts = module.num_experts
                lr_mult = _resolve('routing_lr_mult', cfg.get('routing_lr_mult', 1.0), num_experts)
                decay_mult = _resolve('routing_decay_mult', cfg.get('routing_decay_mult', 1.0), num_experts)
                multipliers.update({id(p): (lr_mult, decay_mult) for p in module.parameters()})
                counts['routing'] += len(list(module.parameters()))
        for group in groups:
            found = multipliers.get(id(group['params'][0]))
            if found is None:
                continue
            lr_mult, decay_mult = found
            group['lr'] = group.get('lr', self.base_lr) * lr_mult
            if self.base_wd is not None:
                group['weight_decay'] = group.get('weight_decay', self.base_wd) * decay_mult
        where = 'the whole model' if self.condconv_prefixes is None else f'modules under {self.condconv_prefixes}'
        print_log(f"CondConvOptimWrapperConstructor: {counts['expert']} expert tensors (lr x "
                  f"{cfg.get('expert_lr_mult', 1.0)}, weight decay x {cfg.get('expert_decay_mult', 1.0)}) and "
                  f"{counts['routing']} routing tensors (lr x {cfg.get('routing_lr_mult', 1.0)}, weight decay x "
                  f"{cfg.get('routing_decay_mult', 1.0)}) in {where}", logger='current')
        if single_expert and cfg.get('expert_lr_mult') == 'num_experts':
            print_log(f"CondConvOptimWrapperConstructor: {single_expert} CondConv2d layers have one expert, for which "
                      "expert_lr_mult='num_experts' is 1; with sigmoid routing (r = 0.5 at the upcycled start) the "
                      'static steps need expert_lr_mult=4.0, expert_decay_mult=0.25', logger='current',
                      level=logging.WARNING)
        if not counts['expert'] and not counts['routing']:
            raise ValueError(f"paramwise_cfg['condconv'] is set but {where} has no CondConv2d or routing function: "
                             'check module_prefixes')
