"""condconv_det: CondConv (Yang et al., NeurIPS 2019) for MMDetection 3.x.

Importing this package registers every module of the plugin in mmdet's registries, so an mmdet config needs only::

    custom_imports = dict(imports=['condconv_det'], allow_failed_imports=False)
"""
from . import compat  # noqa: F401  (version fixes first: checkpoint allow-list)
from . import engine, layers, models  # noqa: F401
from . import reliability  # noqa: F401  validating dataset, checkpoint checks, CPUDDPRunner, CPUBF16OptimWrapper
from .version import __version__

__all__ = ['__version__']
