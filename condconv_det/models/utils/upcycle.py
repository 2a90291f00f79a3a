"""Static → CondConv upcycling that preserves the network's function at initialisation.

CondConv computes ``(Σ_i r_i(x) W_i) * x`` (Eq. 1) with ``r(x) = σ(GAP(x)·R + b)`` (Eq. 2, sigmoid routing). With
``R = 0`` the routing is the constant ``r_i = σ(b)``; choosing ``b = -log(E - 1)`` makes ``Σ_i r_i = E·σ(b) = 1`` and
setting every expert ``W_i = W`` gives the mixed kernel ``W`` — the static network's — for every input. In general
the experts are set to ``W / Σ_i r_i`` where ``Σ_i r_i`` is measured on the initialised routing, so any routing
function with a constant output (softmax: ``1``; sigmoid with ``E = 1``: ``σ(0) = 0.5``) upcycles exactly.

Optional symmetry-breaking noise ``W_i = W / Σr + ε_i`` uses zero-mean noise over the experts (``Σ_i ε_i = 0``), so
with the uniform initial routing the mixed kernel is still exactly ``W``. ``routing_init_scale > 0`` instead starts
the routing weights ``R`` at that fraction of PyTorch's default ``nn.Linear`` initialisation (``U(±1/sqrt(C))``):
routing then differs per image from the first step, at the price of the exact function at initialisation.
"""
import copy
import math
from collections import OrderedDict
from typing import Mapping, Optional, Set, Tuple

import torch
import torch.nn as nn
from torch import Tensor

from condconv_det.analysis.routing_stats import find_routing_modules, routing_owner
from condconv_det.layers import CondConv2d


def init_constant_routing(routing: nn.Module, num_experts: int) -> float:
    """Zero the routing weights, set biases so that ``Σ_i r_i`` is 1 where possible; return ``Σ_i r_i``.

    Sigmoid routing: ``b = -log(E - 1)`` (``E·σ(b) = 1``) for ``E ≥ 2``, ``b = 0`` for ``E = 1``. Other routing
    functions get zero biases (softmax: ``r_i = 1/E``). The returned sum is measured on a zero input.
    """
    is_sigmoid = 'sigmoid' in type(routing).__name__.lower()
    bias_value = -math.log(num_experts - 1) if (is_sigmoid and num_experts >= 2) else 0.
    with torch.no_grad():
        for pname, param in routing.named_parameters():
            param.fill_(bias_value if pname.split('.')[-1] == 'bias' else 0.)
        in_channels = _routing_in_channels(routing)
        was_training = routing.training
        routing.eval()
        param = next(routing.parameters())
        r = routing(torch.zeros(1, in_channels, 1, 1, dtype=param.dtype, device=param.device))
        routing.train(was_training)
    if not torch.allclose(r, r[:, :1].expand_as(r)):
        raise RuntimeError(f'{type(routing).__name__} does not give a constant uniform output with zero weights')
    return float(r.sum())


def _routing_in_channels(routing: nn.Module) -> int:
    if hasattr(routing, 'in_channels'):
        return int(routing.in_channels)
    for m in routing.modules():
        if isinstance(m, nn.Linear):
            return m.in_features
    raise AttributeError(f'cannot infer the input channels of {type(routing).__name__}')


def upcycle_state_dict(static_state_dict: Mapping[str, Tensor],
                       condconv_model: nn.Module,
                       noise_std: float = 0.,
                       generator: Optional[torch.Generator] = None,
                       strict: bool = True,
                       routing_init_scale: float = 0.) -> 'OrderedDict[str, Tensor]':
    """State dict for ``condconv_model`` whose function equals the static network's at initialisation.

    Args:
        static_state_dict: weights of the static twin (same keys, no expert dimension; ``nn.Linear`` weights are
            reshaped for 1×1 CondConv classifiers).
        condconv_model: the CondConv network; its routing modules are re-initialised in place to a constant.
        noise_std: std of the zero-mean (over experts) noise, relative to each kernel's std; 0 = exact copies.
        strict: raise on static keys the CondConv model lacks (else they are dropped).
        routing_init_scale: routing weights ``R ~ scale · U(±1/sqrt(C))`` instead of 0 (biases keep the uniform
            constant); 0 keeps the network's function exactly.
    """
    if routing_init_scale < 0:
        raise ValueError(f'routing_init_scale must be >= 0, got {routing_init_scale}')
    cond_convs = {n for n, m in condconv_model.named_modules() if isinstance(m, CondConv2d)}
    routing_sum = None
    routing_prefixes: Set[str] = set()
    for name, routing in find_routing_modules(condconv_model).items():
        experts = _owner_num_experts(condconv_model, routing_owner(condconv_model, name), cond_convs)
        s = init_constant_routing(routing, experts)
        if routing_sum is not None and not math.isclose(s, routing_sum, rel_tol=1e-6):
            raise RuntimeError('routing functions with different constant sums cannot be upcycled together')
        routing_sum = s
        routing_prefixes.add(name + '.')
        if routing_init_scale > 0:
            _perturb_routing_weights(routing, routing_init_scale, generator)
    scale = 1. / routing_sum if routing_sum else 1.

    target = condconv_model.state_dict()
    unexpected = [k for k in static_state_dict if k not in target]
    if strict and unexpected:
        raise KeyError(f'static keys absent from the CondConv model: {unexpected[:10]}')
    out = OrderedDict()
    for key, ref in target.items():
        if any(key.startswith(p) for p in routing_prefixes):
            out[key] = ref.clone() if torch.is_tensor(ref) else copy.deepcopy(ref)  # e.g. a temperature
            continue
        if key not in static_state_dict:
            if key.endswith('num_batches_tracked'):
                out[key] = ref.clone()
                continue
            raise KeyError(f'{key} is missing from the static state dict')
        src = static_state_dict[key].to(ref.dtype)
        module_name, _ = key.rsplit('.', 1)
        if module_name in cond_convs:
            out[key] = _expand_experts(src, ref.shape, scale, noise_std, generator)
        elif src.shape == ref.shape:
            out[key] = src.clone()
        else:
            raise ValueError(f'{key}: static shape {tuple(src.shape)} does not fit {tuple(ref.shape)}')
    return out


def _perturb_routing_weights(routing: nn.Module, scale: float, generator: Optional[torch.Generator]) -> None:
    """``R ~ scale · U(-1/sqrt(C), 1/sqrt(C))`` for every linear layer of a routing module (biases unchanged)."""
    with torch.no_grad():
        for linear in (m for m in routing.modules() if isinstance(m, nn.Linear)):
            bound = scale / math.sqrt(linear.in_features)
            noise = torch.rand(linear.weight.shape, generator=generator, dtype=linear.weight.dtype) * 2 - 1
            linear.weight.copy_(noise * bound)  # drawn on the CPU generator, copied to the weight's device


def _owner_num_experts(model: nn.Module, owner: str, cond_convs: Set[str]) -> int:
    """Experts of the CondConvs a routing module feeds (its owner, or the CondConvs inside its owner block)."""
    module = model.get_submodule(owner) if owner else model
    if isinstance(module, CondConv2d):
        return module.weight.shape[0]
    for name in sorted(cond_convs):
        if owner == '' or name.startswith(owner + '.'):
            return model.get_submodule(name).weight.shape[0]
    raise RuntimeError(f'routing module under {owner!r} feeds no CondConv2d')


def _expand_experts(src: Tensor, shape: Tuple[int, ...], scale: float, noise_std: float,
                    generator: Optional[torch.Generator]) -> Tensor:
    """Static weight/bias → ``(E, ...)`` experts ``src·scale + ε_i`` with ``Σ_i ε_i = 0``."""
    num_experts, per_expert = shape[0], shape[1:]
    if src.numel() != math.prod(per_expert):
        raise ValueError(f'static shape {tuple(src.shape)} does not fit experts of shape {tuple(per_expert)}')
    experts = (src.reshape(per_expert) * scale).unsqueeze(0).repeat(num_experts, *([1] * len(per_expert)))
    if noise_std > 0 and num_experts > 1 and src.dim() > 1:
        # drawn with the (CPU) generator whatever the weights' device: the same noise on CPU and CUDA
        noise = torch.randn(experts.shape, generator=generator, dtype=experts.dtype).to(experts.device)
        noise = noise * noise_std * src.std() * scale
        experts = experts + (noise - noise.mean(0, keepdim=True))
    return experts


def upcycle_model(static_model: nn.Module,
                  condconv_model: nn.Module,
                  noise_std: float = 0.,
                  generator: Optional[torch.Generator] = None) -> nn.Module:
    """Load the upcycled weights of ``static_model`` into ``condconv_model`` (in place) and return it."""
    condconv_model.load_state_dict(
        upcycle_state_dict(static_model.state_dict(), condconv_model, noise_std, generator), strict=True)
    return condconv_model
