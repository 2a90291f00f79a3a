"""Run mmdet's own command-line tools (shipped inside the mmdet package under ``.mim/tools``)."""
import runpy
from pathlib import Path


def mmdet_tool_path(name: str) -> str:
    """Return the path of mmdet's ``tools/<name>`` (e.g. ``'train.py'``), raising a clear error if mmdet lacks it."""
    import mmdet
    path = Path(mmdet.__file__).resolve().parent / '.mim' / 'tools' / name
    if not path.is_file():
        raise FileNotFoundError(
            f'mmdet {mmdet.__version__} at {Path(mmdet.__file__).parent} has no .mim/tools/{name}; '
            'reinstall mmdet from its wheel (`bash tools/setup_env.sh` does) so that its tools are packaged.')
    return str(path)


def run_mmdet_tool(name: str) -> None:
    """Run mmdet's ``tools/<name>`` as ``__main__`` with the current ``sys.argv``, condconv_det registered.

    Importing condconv_det first registers the plugin's modules and the checkpoint-loading allow-list, so configs,
    ``--resume`` and ``CHECKPOINT`` arguments work exactly as with mmdet's tools. glibc's malloc is tuned for
    CondConv's large CPU tensors first (``cpu_allocator``; ``CONDCONV_NO_MALLOC_TUNING=1`` keeps the defaults).
    PyTorch's bare BatchNorm error for a training batch of one image is re-raised with its cause and fix
    (:class:`~condconv_det.utils.train_batch_errors.TrainBatchError`).
    """
    from .cpu_allocator import tune_glibc_malloc
    tune_glibc_malloc()
    import condconv_det  # noqa: F401
    from .train_batch_errors import TrainBatchError, explain_batchnorm_error
    try:
        runpy.run_path(mmdet_tool_path(name), run_name='__main__')
    except ValueError as error:
        explanation = explain_batchnorm_error(error)
        if explanation is None:
            raise
        raise TrainBatchError(explanation) from error
