"""condconv_det: CondConv (Yang et al., NeurIPS 2019) for MMDetection 3.x.

Importing this package registers every module of the plugin in mmdet's registries, so an mmdet config needs only::

    custom_imports = dict(imports=['condconv_det'], allow_failed_imports=False)

or, with the wheel installed, inherits one of the plugin's configs: ``_base_ = 'condconv_det::ssdlite/….py'``
(``registry.py`` says how the ``condconv_det`` scope resolves).
"""
from . import compat  # noqa: F401  (first: supported versions, checkpoint allow-list)
from . import registry  # noqa: F401  the condconv_det scope and the condconv_det:: config prefix
from . import datasets, engine, layers, models  # noqa: F401  (each registers its modules)
from .version import __version__

__all__ = ['__version__']
