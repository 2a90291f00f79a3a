"""Checkpoint loading keeps torch's ``weights_only=True``: mmengine's types are allowed, anything else refused."""
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner.checkpoint import _load_checkpoint

import condconv_det  # noqa: F401  applies the allow-list
from condconv_det.compat import allow_mmengine_checkpoints


def _mmengine_like_checkpoint(path) -> None:
    """A checkpoint with what mmengine 0.10.7's Runner.save_checkpoint writes: a message hub of HistoryBuffers
    (numpy arrays inside), numpy scalars in the meta, optimizer state and the model's state dict."""
    hub = MessageHub.get_instance('test_compat')
    for step in range(3):
        hub.update_scalar('train/loss', 1.0 / (step + 1))
    hub.update_info('iter', 3)
    model = torch.nn.Linear(2, 2)
    optim = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.ones(1, 2)).sum().backward()
    optim.step()
    torch.save(dict(meta=dict(epoch=1, iter=3, seed=np.int64(7), lr=np.float64(0.1), mmengine_version='0.10.7'),
                    state_dict=model.state_dict(), optimizer=optim.state_dict(), message_hub=hub.state_dict()), path)


def test_mmengine_checkpoint_loads_with_weights_only(tmp_path):
    path = tmp_path / 'epoch_1.pth'
    _mmengine_like_checkpoint(path)
    ckpt = torch.load(path, weights_only=True)  # explicit: the allow-list, not weights_only=False, makes this work
    buffer = ckpt['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer)
    assert buffer.current() == pytest.approx(1 / 3)
    assert ckpt['meta']['seed'] == 7
    assert _load_checkpoint(str(path))['meta']['iter'] == 3  # mmengine's own loader (used by --resume, load_from)


def test_without_allow_list_torch_refuses_mmengine_checkpoint(tmp_path):
    """Proves the fix is needed: torch alone rejects the same file."""
    path = tmp_path / 'epoch_1.pth'
    _mmengine_like_checkpoint(path)
    saved = torch.serialization.get_safe_globals()
    torch.serialization.clear_safe_globals()
    try:
        with pytest.raises(pickle.UnpicklingError, match='Weights only load failed'):
            torch.load(path, weights_only=True)
    finally:
        torch.serialization.clear_safe_globals()
        torch.serialization.add_safe_globals(saved)
        allow_mmengine_checkpoints()


class _RunsACommand:
    """Unpickling this calls os.system: the classic malicious-checkpoint payload."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}', )


def test_malicious_checkpoint_is_refused_and_never_runs(tmp_path):
    marker = tmp_path / 'pwned'
    path = tmp_path / 'evil.pth'
    torch.save(dict(state_dict=torch.nn.Linear(2, 2).state_dict(), meta=dict(payload=_RunsACommand(marker))), path)
    with pytest.raises(pickle.UnpicklingError, match='os.system|posix.system|system'):
        _load_checkpoint(str(path))
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path)  # torch's default, weights_only=True, stays in force
    assert not marker.exists()


def test_getattr_in_a_checkpoint_resolves_only_history_buffer_statistics(tmp_path):
    """The allow-listed ``builtins.getattr`` is a guard, not getattr: it cannot reach ``__globals__``."""

    class _ReachesGlobals:
        def __reduce__(self):
            return getattr, (HistoryBuffer.mean, '__globals__')

    path = tmp_path / 'walk.pth'
    torch.save(dict(meta=_ReachesGlobals()), path)
    with pytest.raises(pickle.UnpicklingError, match='only HistoryBuffer'):
        torch.load(path)
