"""One routing function per block, shared by every CondConv of the block (the official code's ``_routing_fn``)."""
from typing import Dict, Optional

import torch.nn as nn
from mmengine.registry import MODELS


def build_block_routing(routing_cfg: Optional[Dict], in_channels: int, num_experts: int) -> Optional[nn.Module]:
    """Build ``r(x) = σ(GAP(x)·R + b)`` (Eq. 2 with sigmoid routing) over the block input; ``None`` when static."""
    if num_experts <= 0:
        return None
    if routing_cfg is None:
        raise ValueError('routing_cfg must be a dict when num_experts > 0 (e.g. dict(type="SigmoidRouting"))')
    cfg = dict(routing_cfg)
    cfg.update(in_channels=in_channels, num_experts=num_experts)
    return MODELS.build(cfg)
