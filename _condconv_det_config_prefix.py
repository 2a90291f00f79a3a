"""Let mmengine read ``_base_ = 'condconv_det::…'`` before condconv_det is imported (installed wheels only).

mmengine's config loader accepts ``pkg::path`` only for packages listed in ``mmengine.config.utils.MODULE2PACKAGE``
and resolves a config's ``_base_`` before its ``custom_imports`` run, so mmdet's own ``tools/train.py`` stops at
``AssertionError: mmengine does not support to load condconv_det config`` unless something added the plugin to that
dict earlier. The wheel installs ``condconv_det-config-prefix.pth`` next to this module; its one line runs
:func:`install` at interpreter start-up, which waits (an import hook, standard library only, nothing imported now)
for ``mmengine.config.utils`` to be imported and then adds ``'condconv_det'`` to ``MODULE2PACKAGE``. No file of
mmengine is changed; ``condconv_det/registry.py`` does the same when the plugin itself is imported.
"""
import sys
from importlib.abc import MetaPathFinder
from types import ModuleType

PACKAGE = 'condconv_det'
TARGET = 'mmengine.config.utils'


def register(module: ModuleType) -> None:
    """Name condconv_det in mmengine's table of packages whose configs ``pkg::`` may refer to."""
    module.MODULE2PACKAGE.setdefault(PACKAGE, PACKAGE)


class RegisterAfterImport(MetaPathFinder):
    """Finds nothing itself: for ``mmengine.config.utils`` it asks the other finders and wraps the found loader's
    ``exec_module`` so that :func:`register` runs right after the module body."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != TARGET:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, 'find_spec'):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, 'exec_module'):
            return spec
        run_module_body = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run_module_body(module)
            register(module)

        loader.exec_module = exec_module
        return spec


def install() -> None:
    """Register now if mmengine's config utils are loaded already, else when they are (idempotent)."""
    if TARGET in sys.modules:
        register(sys.modules[TARGET])
    elif not any(isinstance(finder, RegisterAfterImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, RegisterAfterImport())
