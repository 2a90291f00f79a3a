"""``RankStateDumpHook``: what each rank of a distributed run ends with, to check DDP's invariants (identical
parameters on every rank; every parameter got a gradient, so no ``find_unused_parameters`` is needed)."""
import json
import os
import os.path as osp
from typing import Any, Dict, Optional

import torch
from mmdet.registry import HOOKS
from mmengine.dist import get_dist_info
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper


@HOOKS.register_module()
class RankStateDumpHook(Hook):
    """Write what each rank ends with, to compare ranks: ``{out_dir}/rank{r}_params.pth`` (parameters and buffers),
    ``{out_dir}/rank{r}.json`` (parameters that never received a gradient, iterations run).

    Args:
        out_dir (str, optional): default ``work_dir``.
    """

    priority = 'LOWEST'

    def __init__(self, out_dir: Optional[str] = None) -> None:
        self.out_dir = out_dir
        self.got_grad: Dict[str, bool] = {}
        self.iterations = 0

    def before_train(self, runner: Any) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        for name, param in model.named_parameters():
            if param.requires_grad:
                self.got_grad[name] = False
                param.register_hook(self._marker(name))

    def _marker(self, name: str):
        def mark(grad: torch.Tensor) -> None:
            self.got_grad[name] = True
        return mark

    def after_train_iter(self, runner: Any, batch_idx: int, data_batch: Any = None, outputs: Any = None) -> None:
        self.iterations += 1

    def after_train(self, runner: Any) -> None:
        rank, world_size = get_dist_info()
        out_dir = self.out_dir or runner.work_dir
        os.makedirs(out_dir, exist_ok=True)
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        torch.save(state, osp.join(out_dir, f'rank{rank}_params.pth'))
        summary = dict(rank=rank, world_size=world_size, iterations=self.iterations,
                       find_unused_parameters=bool(getattr(runner.model, 'find_unused_parameters', False)),
                       num_trainable=len(self.got_grad),
                       without_grad=sorted(k for k, v in self.got_grad.items() if not v))
        with open(osp.join(out_dir, f'rank{rank}.json'), 'w') as f:
            json.dump(summary, f, indent=1)
