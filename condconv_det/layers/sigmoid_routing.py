"""The paper's routing function ``r(x) = sigmoid(GAP(x) · R + b)`` (Yang et al., NeurIPS 2019, eq. (2))."""
import torch
from mmengine.registry import MODELS
from torch import Tensor

from .pooled_routing import PooledLinearRouting


@MODELS.register_module()
class SigmoidRouting(PooledLinearRouting):
    """Independent sigmoid gate per expert, eq. (2). Input ``(B, C, H, W)`` or pooled ``(B, C)``; output ``(B, E)``
    in ``(0, 1)``, float32 (float64 for a float64 module), also under autocast."""

    def forward(self, x: Tensor) -> Tensor:
        return torch.sigmoid(self.routing_logits(x))
