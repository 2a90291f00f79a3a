"""Build a CondConv routing function (``(B, C, H, W)`` or ``(B, C)`` -> ``(B, E)``) from a config dict: the one
builder of every routing, whether a CondConv2d's own or shared by a block or a head level."""
import copy

import torch.nn as nn
from mmengine.registry import MODELS


def build_routing(cfg: dict, in_channels: int, num_experts: int) -> nn.Module:
    """``MODELS.build`` of ``cfg`` (e.g. ``dict(type='SigmoidRouting', dropout=0.2)``) with the layer's
    ``in_channels`` and ``num_experts`` filled in; ``ValueError`` if ``cfg`` sets either to another value."""
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise ValueError("routing_cfg must be a dict with a 'type' key (e.g. dict(type='SigmoidRouting')) when "
                         f'the layer has experts, got routing_cfg={cfg!r}')
    cfg = copy.deepcopy(dict(cfg))
    for key, value in (('in_channels', in_channels), ('num_experts', num_experts)):
        if key in cfg and cfg[key] != value:
            raise ValueError(f'routing_cfg {key}={cfg[key]!r} contradicts the layer ({key}={value!r})')
        cfg[key] = value
    return MODELS.build(cfg)
