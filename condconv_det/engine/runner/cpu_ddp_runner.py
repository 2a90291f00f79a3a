"""Distributed training on CPU with mmengine 0.10 (gloo).

mmengine's ``init_dist('pytorch')`` calls ``torch.cuda.set_device`` and ``Runner.wrap_model`` passes
``device_ids=[LOCAL_RANK]`` to DDP: both fail without CUDA. :class:`CPUDDPRunner` (``runner_type='CPUDDPRunner'``)
initialises a gloo process group itself and wraps the CPU model with ``device_ids=None``; with CUDA it is exactly
mmengine's ``Runner``.
"""
from typing import Any, Dict, Optional, Union

import torch
import torch.distributed as torch_dist
import torch.nn as nn
from mmengine.dist import is_distributed
from mmengine.model import is_model_wrapper
from mmengine.registry import MODEL_WRAPPERS, RUNNERS
from mmengine.runner import Runner


def _no_accelerator() -> bool:
    return not torch.cuda.is_available()


# mmengine's root RUNNERS, not mmdet's: mmdet's tools/train.py builds ``runner_type`` from the root before any default
# scope exists (condconv_det/registry.py).
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
