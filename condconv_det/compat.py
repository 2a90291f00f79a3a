"""Version fixes for the verified stack (torch 2.13, mmengine 0.10.7, mmcv 2.1.0, mmdet 3.3.0), in one place.

Lowest supported versions
-------------------------
:data:`MINIMUM_VERSIONS` is checked first thing when the plugin is imported (:func:`check_dependency_versions`), so
an older stack fails at once with the minimum named, not at the first forward pass. torch 2.7 is the first release
with ``torch.compiler.is_exporting`` (``CondConv2d`` uses it to keep the batch symbolic under ``torch.export``, the
ONNX exporter's default; torch 2.6 lacks it) and it has ``torch.is_autocast_enabled(device_type)`` (2.4+) and
``torch.serialization.add_safe_globals`` (2.4+). mmdet 3.3 is the API the plugin subclasses; mmengine >= 0.10 is the
checkpoint format handled below; mmcv 2.0-2.1 is what mmdet 3.3 accepts. The same figures are in setup.cfg's
``install_requires`` (torch, mmdet) and requirements/mminstall.txt (mmengine, mmcv: installed by ``mim`` or
tools/setup_env.sh because of their ``-lite`` and compiled variants), and a test keeps the three in step. Only
torch 2.13 / mmengine 0.10.7 / mmcv 2.1.0 / mmdet 3.3.0 are tested.

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
import importlib
import pickle
import re
from typing import Any, Dict, List, Tuple

# package -> (lowest supported version, exclusive upper bound or None)
MINIMUM_VERSIONS: Dict[str, Tuple[str, Any]] = {
    'torch': ('2.7', None),
    'mmengine': ('0.10.0', '1.0.0'),
    'mmcv': ('2.0.0', '2.2.0'),
    'mmdet': ('3.3.0', '3.4.0'),
}


def _release(version: str) -> Tuple[int, ...]:
    """Numeric release of a version string: ``'2.13.0+cpu'`` -> ``(2, 13, 0)``, ``'2.0.0rc4'`` -> ``(2, 0, 0)``."""
    match = re.match(r'\d+(\.\d+)*', version)
    if match is None:
        raise ValueError(f'cannot read the version {version!r}')
    return tuple(int(part) for part in match.group(0).split('.'))


def _pad(release: Tuple[int, ...], length: int = 3) -> Tuple[int, ...]:
    return release + (0, ) * (length - len(release))


def check_dependency_versions(packages: Tuple[str, ...] = tuple(MINIMUM_VERSIONS)) -> None:
    """Raise ``ImportError`` naming the supported range when an installed package is outside it.

    Imports each package to read ``__version__`` (mmengine-lite and mmcv's variants install the same modules under
    other distribution names, so the module, not the distribution, is asked).
    """
    for name in packages:
        low, high = MINIMUM_VERSIONS[name]
        found = importlib.import_module(name).__version__
        release = _pad(_release(str(found)))
        if release < _pad(_release(low)) or (high is not None and release >= _pad(_release(high))):
            wanted = f'{name}>={low}' + (f',<{high}' if high else '')
            raise ImportError(f'condconv_det needs {wanted}, found {name} {found}. Install a supported version '
                              '(README, "Install as a package"); condconv_det/compat.py says why this minimum.')


check_dependency_versions(('torch', ))  # first: the other checks import mmengine/mmcv/mmdet, torch must be fit

import numpy as np  # noqa: E402
import torch  # noqa: E402

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


check_dependency_versions(('mmengine', 'mmcv', 'mmdet'))
allow_mmengine_checkpoints()
