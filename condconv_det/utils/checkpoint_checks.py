"""Clear errors for checkpoints that are not checkpoints or belong to another architecture.

mmengine loads ``load_from`` / ``tools/test.py CKPT`` with ``strict=False``: a checkpoint of another architecture only
logs a warning and training/testing goes on from random weights. :func:`check_checkpoint_matches` (and the opt-in
:class:`~condconv_det.engine.hooks.CheckpointCompatibilityHook`) turn that into an error that lists the mismatched
keys.
"""
import os.path as osp
import pickle
import re
from typing import Any, Dict, List, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import is_model_wrapper

MAX_KEYS = 20


class CheckpointCheckError(ValueError):
    """A checkpoint file that cannot be used for this model; the message names the file and the fix."""


def load_checkpoint_file(path: str) -> Dict[str, Any]:
    """``torch.load(path, weights_only=True)`` with a clear :class:`CheckpointCheckError` when it is not a checkpoint
    (missing, empty, not a torch file, or carrying objects outside the allow-list of ``condconv_det.compat``)."""
    import condconv_det.compat  # noqa: F401  (mmengine's types on the allow-list)
    if not osp.isfile(path):
        raise CheckpointCheckError(f'checkpoint {path} not found. Fix: check load_from / --resume / CHECKPOINT.')
    if osp.getsize(path) == 0:
        raise CheckpointCheckError(f'checkpoint {path} is empty (0 bytes): the save was interrupted. Fix: use the '
                                   'previous checkpoint (work_dir/last_checkpoint names the latest complete one).')
    try:
        checkpoint = torch.load(path, map_location='cpu', weights_only=True)
    except pickle.UnpicklingError as error:
        if 'Weights only load failed' in str(error):
            reason = next((line.strip() for line in str(error).splitlines() if 'GLOBAL' in line),
                          str(error).splitlines()[0])
            raise CheckpointCheckError(
                f'checkpoint {path} was refused: it contains objects outside the weights_only allow-list (mmengine\'s '
                f'checkpoint types), which could run code when unpickled ({reason.split(". Please use")[0]}). Fix: '
                'only load checkpoints you trust; re-save a trusted one as a plain state_dict.') from None
        raise CheckpointCheckError(f'{path} is not a PyTorch checkpoint ({error}). Fix: pass the .pth written by '
                                   'CheckpointHook (or torch.save).') from None
    except Exception as error:  # torch raises RuntimeError, EOFError, KeyError, ... for non-checkpoints
        raise CheckpointCheckError(f'{path} is not a PyTorch checkpoint or is truncated ({type(error).__name__}: '
                                   f'{str(error).splitlines()[0] if str(error) else ""}). Fix: pass the .pth written '
                                   'by CheckpointHook; re-download or re-copy it if it is cut short.') from None
    if not isinstance(checkpoint, dict):
        raise CheckpointCheckError(f'{path} holds a {type(checkpoint).__name__}, not a checkpoint dict. Fix: save '
                                   'with torch.save({"state_dict": model.state_dict()}, path).')
    return checkpoint


def state_dict_of(checkpoint: Dict[str, Any]) -> Dict[str, torch.Tensor]:
    """The weights of a checkpoint dict (``state_dict`` / ``model`` entry, or the dict itself)."""
    for key in ('state_dict', 'model'):
        if isinstance(checkpoint.get(key), dict):
            checkpoint = checkpoint[key]
            break
    state = {k[7:] if k.startswith('module.') else k: v for k, v in checkpoint.items() if isinstance(v, torch.Tensor)}
    if not state:
        raise CheckpointCheckError('checkpoint holds no tensors (keys: ' + ', '.join(list(checkpoint)[:10]) + ')')
    return state


def compare_state_dicts(expected: Dict[str, torch.Tensor], found: Dict[str, torch.Tensor],
                        ignore: Sequence[str] = ()) -> Tuple[List[str], List[str], List[str]]:
    """``(missing, unexpected, shape mismatches)`` of ``found`` against ``expected``; keys matching a regex in
    ``ignore`` are left out."""
    skip = [re.compile(p) for p in ignore]
    keep = [k for k in expected if not any(p.search(k) for p in skip)]
    missing = [k for k in keep if k not in found]
    unexpected = [k for k in found if k not in expected and not any(p.search(k) for p in skip)]
    shapes = [f'{k}: checkpoint {tuple(found[k].shape)} vs model {tuple(expected[k].shape)}' for k in keep
              if k in found and found[k].shape != expected[k].shape]
    return missing, unexpected, shapes


def _listing(title: str, keys: List[str]) -> str:
    more = f' ... and {len(keys) - MAX_KEYS} more' if len(keys) > MAX_KEYS else ''
    return f'\n  {title} ({len(keys)}): ' + ', '.join(keys[:MAX_KEYS]) + more if keys else ''


def check_checkpoint_matches(model: nn.Module, checkpoint: Union[str, Dict[str, Any]],
                             ignore: Sequence[str] = ()) -> None:
    """Raise :class:`CheckpointCheckError` listing missing, unexpected and shape-mismatched keys, if any."""
    name = checkpoint if isinstance(checkpoint, str) else 'checkpoint'
    if isinstance(checkpoint, str):
        checkpoint = load_checkpoint_file(checkpoint)
    if is_model_wrapper(model):
        model = model.module
    missing, unexpected, shapes = compare_state_dicts(model.state_dict(), state_dict_of(checkpoint), ignore)
    if missing or unexpected or shapes:
        raise CheckpointCheckError(
            f'{name} does not match {type(model).__name__}: it was saved from another architecture or config.'
            + _listing('size mismatch', shapes) + _listing('missing in checkpoint', missing)
            + _listing('unexpected in checkpoint', unexpected)
            + '\n  Fix: use the checkpoint of this config; to fine-tune from another model on purpose, convert its '
            'keys (tools/model_converters/) or list the keys to re-initialise in CheckpointCompatibilityHook(ignore=).')
