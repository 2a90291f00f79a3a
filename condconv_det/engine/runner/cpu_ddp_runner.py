"""Distributed training on CPU with mmengine 0.10 (gloo), and a hook that checks DDP's invariants.

mmengine's ``init_dist('pytorch')`` calls ``torch.cuda.set_device`` and ``Runner.wrap_model`` passes
``device_ids=[LOCAL_RANK]`` to DDP: both fail without CUDA. :class:`CPUDDPRunner` (``runner_type='CPUDDPRunner'``)
initialises a gloo process group itself and wraps the CPU model with ``device_ids=None``; with CUDA it is exactly
mmengine's ``Runner``.
"""
import json
import os
import os.path as osp
from typing import Any, Dict, Optional, Union

import torch
import torch.distributed as torch_dist
import torch.nn as nn
from mmdet.registry import HOOKS
from mmengine.dist import get_dist_info, is_distributed
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.registry import MODEL_WRAPPERS, RUNNERS
from mmengine.runner import Runner


def _no_accelerator() -> bool:
    return not torch.cuda.is_available()


@RUNNERS.register_module()
class CPUDDPRunner(Runner):
    """mmengine ``Runner`` whose ``--launcher pytorch`` also works on CPU-only machines (gloo, ``device_ids=None``)."""

    def setup_env(self, env_cfg: Dict) -> None:
        if self.distributed and not is_distributed() and _no_accelerator():
            dist_cfg = dict(env_cfg.get('dist_cfg', {}))
            dist_cfg.pop('backend', None)  # nccl needs CUDA: gloo is the CPU backend
            torch_dist.init_process_group(backend='gloo', **dist_cfg)
        super().setup_env(env_cfg)

    def wrap_model(self, model_wrapper_cfg: Optional[Dict], model: nn.Module) -> Union[nn.Module, Any]:
        if not (self.distributed and _no_accelerator()) or is_model_wrapper(model):
            return super().wrap_model(model_wrapper_cfg, model)
        cfg = dict(model_wrapper_cfg or {})
        cfg.setdefault('type', 'MMDistributedDataParallel')
        cfg.setdefault('broadcast_buffers', False)
        cfg.setdefault('find_unused_parameters', self.cfg.get('find_unused_parameters', False))
        cfg['device_ids'] = None
        return MODEL_WRAPPERS.build(cfg, default_args=dict(module=model.to('cpu')))


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
