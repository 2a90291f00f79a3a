"""``CheckpointCompatibilityHook``: refuse a ``load_from`` / ``tools/test.py CKPT`` checkpoint of another architecture
before mmengine loads it with ``strict=False`` (which only warns), listing the mismatched keys
(:mod:`condconv_det.utils.checkpoint_checks`)."""
import os.path as osp
from typing import Any, Sequence

from mmdet.registry import HOOKS
from mmengine.hooks import Hook

from condconv_det.utils.checkpoint_checks import check_checkpoint_matches, load_checkpoint_file


@HOOKS.register_module()
class CheckpointCompatibilityHook(Hook):
    """Before ``load_from`` / ``tools/test.py CKPT`` is loaded, refuse a checkpoint that does not match the model.

    ``custom_hooks = [dict(type='CheckpointCompatibilityHook', ignore=['bbox_head.cls_convs'])]``; ``ignore``:
    regexes of keys allowed to differ (e.g. a classifier re-initialised for a new number of classes).
    """

    priority = 'VERY_HIGH'

    def __init__(self, ignore: Sequence[str] = ()) -> None:
        self.ignore = tuple(ignore)

    def before_run(self, runner: Any) -> None:
        path = getattr(runner, '_load_from', None)
        if path and not getattr(runner, '_resume', False) and osp.isfile(path):
            check_checkpoint_matches(runner.model, path, self.ignore)
        elif path and not getattr(runner, '_resume', False) and '://' not in path:
            load_checkpoint_file(path)  # raises "not found"
