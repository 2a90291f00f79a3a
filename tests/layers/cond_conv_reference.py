"""Naive per-example CondConv reference (eq. (1) of Yang et al., NeurIPS 2019) used by the layer tests.

Loops over examples and experts with plain tensor ops; shares no code with ``condconv_det.layers.strategies``.
"""
from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor


def reference_cond_conv2d(x: Tensor, routing_weights: Tensor, weight: Tensor, bias: Optional[Tensor],
                          stride: Sequence[int], padding: Sequence[int], dilation: Sequence[int], groups: int,
                          padding_mode: str = 'zeros') -> Tensor:
    if padding_mode != 'zeros':
        x = F.pad(x, (padding[1], padding[1], padding[0], padding[0]), mode=padding_mode)
        padding = (0, 0)
    outputs = []
    for b in range(x.shape[0]):
        kernel = sum(routing_weights[b, i] * weight[i] for i in range(weight.shape[0]))
        example_bias = None if bias is None else sum(routing_weights[b, i] * bias[i] for i in range(bias.shape[0]))
        outputs.append(F.conv2d(x[b:b + 1], kernel, example_bias, tuple(stride), tuple(padding), tuple(dilation),
                                groups))
    return torch.cat(outputs, dim=0)

