"""``strategy='auto'``: choose the fastest exact CondConv strategy for a call (placeholder, numbers pending)."""
from typing import Tuple


def select_strategy(batch: int, kernel_size: Tuple[int, int], groups: int, in_channels: int, out_channels: int,
                    device_type: str, grad_enabled: bool, exporting: bool = False) -> str:
    if exporting:
        return 'bmm_1x1' if tuple(kernel_size) == (1, 1) else 'unfold_bmm'
    if batch == 1:
        return 'mixed_single'
    if tuple(kernel_size) == (1, 1):
        return 'bmm_1x1'
    return 'grouped'
