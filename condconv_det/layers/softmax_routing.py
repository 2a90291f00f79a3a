"""Softmax-with-temperature routing ``softmax((GAP(x) · R + b) / T)``, the DynamicConv variant (Chen et al., CVPR
2020), offered to compare with the paper's sigmoid routing (Yang et al., NeurIPS 2019, eq. (2)).

``temperature`` is a plain float attribute so that ``RoutingTemperatureHook`` can anneal it during training; it is
saved in the ``state_dict`` (as module extra state) so that a checkpoint evaluates with the temperature it reached.
"""
from typing import Any

import torch
from mmengine.registry import MODELS
from torch import Tensor

from .pooled_routing import PooledLinearRouting


@MODELS.register_module()
class SoftmaxRouting(PooledLinearRouting):
    """Routing weights summing to one over the experts. Input ``(B, C, H, W)`` or pooled ``(B, C)``; output
    ``(B, E)``, float32 (float64 for a float64 module), also under autocast.

    Args:
        in_channels: channels ``C`` of the layer input.
        num_experts: number of experts ``E``.
        temperature: softmax temperature ``T > 0`` (large: near-uniform mixing, 1: plain softmax).
        dropout: dropout probability on the pooled routing input.
        bias: whether the routing linear layer has a bias.
    """

    def __init__(self, in_channels: int, num_experts: int, temperature: float = 1.0, dropout: float = 0.0,
                 bias: bool = True) -> None:
        super().__init__(in_channels, num_experts, dropout=dropout, bias=bias)
        self.temperature = temperature

    @property
    def temperature(self) -> float:
        return self._temperature

    @temperature.setter
    def temperature(self, value: float) -> None:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f'temperature must be a positive number, got temperature={value!r}')
        self._temperature = float(value)

    def get_extra_state(self) -> Any:
        return {'temperature': self._temperature}

    def set_extra_state(self, state: Any) -> None:
        if isinstance(state, dict) and 'temperature' in state:
            self.temperature = state['temperature']

    def forward(self, x: Tensor) -> Tensor:
        return torch.softmax(self.routing_logits(x) / self._temperature, dim=1)

    def extra_repr(self) -> str:
        return f'{super().extra_repr()}, temperature={self._temperature}'
