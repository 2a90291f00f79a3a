"""Build step of the wheel (metadata is in setup.cfg): ship the configs and tools the OpenMMLab way.

``build_py`` also writes, into the wheel,

* ``condconv_det/.mim/{configs,tools,model-index.yml}`` copied from the checkout: where mmengine resolves
  ``_base_ = 'condconv_det::ssdlite/….py'`` and where ``mim train/test condconv_det …`` find ``tools/train.py``;
* ``condconv_det-config-prefix.pth`` at the top of site-packages: one line that runs
  ``_condconv_det_config_prefix.install()`` at start-up, so that mmdet's own tools accept ``condconv_det::`` before
  the plugin is imported (see that module).

Copies, not links, so a wheel is self-contained; ``.mim`` is rebuilt on every build (no stale configs). Editable
installs (``pip install -e .``, what tools/setup_env.sh does) get neither: the checkout's configs are used by path.
"""
import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = os.path.dirname(os.path.abspath(__file__))
PACKAGE = 'condconv_det'
MIM_FILES = ('configs', 'tools', 'model-index.yml')
PTH_NAME = 'condconv_det-config-prefix.pth'
PTH_LINE = 'import _condconv_det_config_prefix; _condconv_det_config_prefix.install()\n'


def copy_mim_files(package_dir: str, source_root: str = ROOT) -> str:
    """(Re)create ``<package_dir>/.mim`` with copies of ``MIM_FILES``; return its path."""
    mim = os.path.join(package_dir, '.mim')
    if os.path.isdir(mim):
        shutil.rmtree(mim)
    os.makedirs(mim)
    for name in MIM_FILES:
        source = os.path.join(source_root, name)
        if os.path.isdir(source):
            shutil.copytree(source, os.path.join(mim, name), ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
        else:
            shutil.copy2(source, mim)
    return mim


class BuildWithMimFiles(build_py):
    """``build_py`` plus the ``.mim`` folder and the ``.pth`` file (wheels and non-editable installs)."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        copy_mim_files(os.path.join(self.build_lib, PACKAGE))
        with open(os.path.join(self.build_lib, PTH_NAME), 'w', encoding='utf-8') as pth:
            pth.write(PTH_LINE)


if __name__ == '__main__':  # setuptools runs this file as __main__; tests import copy_mim_files
    setup(cmdclass=dict(build_py=BuildWithMimFiles))
