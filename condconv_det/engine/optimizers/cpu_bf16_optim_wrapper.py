"""bf16 mixed precision on CPU for mmengine runs.

mmengine's ``AmpOptimWrapper`` (``--amp``) refuses CPU-only machines. :class:`CPUBF16OptimWrapper` runs the forward
pass under ``torch.autocast('cpu', dtype=torch.bfloat16)`` (bf16 has float32's exponent range, so no loss scaling);
parameters, gradients and optimizer state stay float32, and CondConv's routing runs in float32 (autocast disabled
inside ``PooledLinearRouting``). ``optim_wrapper = dict(type='CPUBF16OptimWrapper', optimizer=...)``.
"""
from contextlib import contextmanager
from typing import Iterator

import torch
import torch.nn as nn
from mmdet.registry import OPTIM_WRAPPERS
from mmengine.optim import OptimWrapper


@OPTIM_WRAPPERS.register_module()
class CPUBF16OptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose forward context is CPU bf16 autocast."""

    @contextmanager
    def optim_context(self, model: nn.Module) -> Iterator[None]:
        with super().optim_context(model), torch.autocast('cpu', dtype=torch.bfloat16):
            yield
