"""Version fixes for the verified stack (torch 2.13, mmengine 0.10.7, mmcv 2.1.0, mmdet 3.3.0), in one place.

Checkpoint loading with ``weights_only=True``
---------------------------------------------
Since torch 2.6 ``torch.load`` defaults to ``weights_only=True``: it unpickles only tensors, containers and
primitive types plus the globals on an allow-list. mmengine 0.10.7 writes checkpoints whose ``message_hub`` holds
``HistoryBuffer`` objects with numpy arrays and scalars inside, so ``--resume``, ``tools/test.py CKPT`` and
``load_from`` fail with ``UnpicklingError: Weights only load failed``. We add exactly the globals such a checkpoint
needs to torch's allow-list (:func:`torch.serialization.add_safe_globals`). ``weights_only`` stays on: a checkpoint
carrying anything else (e.g. a ``__reduce__`` that calls ``os.system``) is still refused by torch.

One of those globals is not a type: ``HistoryBuffer.__getstate__`` stores its statistics methods, which pickle writes
as ``getattr(HistoryBuffer, 'mean')``. Allowing ``builtins.getattr`` itself would let a checkpoint walk from any
allowed object to ``__globals__`` and ``__import__`` (arbitrary code execution), so the name ``builtins.getattr`` is
bound to :func:`_history_buffer_method` instead, which resolves exactly those four methods and refuses anything else.

The mmdet 3.3.0 ``SSDHead`` bug (``'SSDHead' object has no attribute 'loss_cls'`` at test time) is fixed in the
plugin's own head, :class:`condconv_det.models.dense_heads.CondConvSSDHead`, not here.
"""
import pickle
from typing import Any, List

import numpy as np
import torch

# numpy dtypes whose arrays/scalars mmengine's logging buffers and dataset metadata can hold.
_NUMPY_DTYPES = (np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
                 np.uint32, np.uint64, np.bool_)


def _numpy_reconstruct_globals() -> List[Any]:
    """The numpy functions and classes pickle uses to rebuild arrays and scalars (numpy 1.x and 2.x names)."""
    try:  # numpy >= 2
        from numpy._core import multiarray
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core import multiarray
    found = [multiarray._reconstruct, multiarray.scalar, np.ndarray, np.dtype]
    found += [type(np.dtype(dtype)) for dtype in _NUMPY_DTYPES]  # numpy 2 pickles dtypes by their class
    found += [dtype for dtype in _NUMPY_DTYPES]
    return found


_HISTORY_BUFFER_METHODS = ('min', 'max', 'current', 'mean')


def _history_buffer_method(owner: Any, name: str) -> Any:
    """``getattr`` as seen by checkpoint loading: only ``HistoryBuffer``'s default statistics methods resolve."""
    from mmengine.logging import HistoryBuffer
    if owner is HistoryBuffer and name in _HISTORY_BUFFER_METHODS:
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(
        f'checkpoint asks for getattr({owner!r}, {name!r}); only HistoryBuffer.{{{",".join(_HISTORY_BUFFER_METHODS)}}} '
        'is allowed when loading with weights_only=True. Load it with weights_only=False only if you trust its source.')


def mmengine_checkpoint_safe_globals() -> List[Any]:
    """Exactly the non-tensor globals an mmengine 0.10.x training checkpoint contains."""
    from mmengine.logging import HistoryBuffer
    return [HistoryBuffer, (_history_buffer_method, 'builtins.getattr')] + _numpy_reconstruct_globals()


def allow_mmengine_checkpoints() -> None:
    """Add mmengine's checkpoint types to torch's ``weights_only`` allow-list (idempotent)."""
    add_safe_globals = getattr(torch.serialization, 'add_safe_globals', None)
    if add_safe_globals is None:  # torch < 2.4 loads with weights_only=False by default: nothing to allow
        return
    add_safe_globals(mmengine_checkpoint_safe_globals())


allow_mmengine_checkpoints()
