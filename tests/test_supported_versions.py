"""Importing the plugin with a dependency outside its supported range fails at once, naming the range; the ranges
are the ones setup.cfg (install_requires) and requirements/mminstall.txt state."""
import configparser
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from condconv_det.compat import MINIMUM_VERSIONS, check_dependency_versions

ROOT = Path(__file__).resolve().parents[1]


def stated_range(name: str) -> str:
    low, high = MINIMUM_VERSIONS[name]
    return f'{name}>={low}' + (f',<{high}' if high else '')


def test_torch_older_than_the_minimum_fails_at_import_before_mmdet_loads():
    code = ('import sys, torch\n'
            "torch.__version__ = '2.6.0+cu124'\n"
            'try:\n'
            '    import condconv_det\n'
            'except ImportError as error:\n'
            "    print('ImportError:', error)\n"
            "print('mmdet imported:', 'mmdet' in sys.modules)\n")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout
    assert 'ImportError: condconv_det needs torch>=2.7, found torch 2.6.0+cu124' in out, out
    assert 'mmdet imported: False' in out


@pytest.mark.parametrize('name, found', [('torch', '2.6.1'), ('mmengine', '0.9.1'), ('mmcv', '2.2.0'),
                                         ('mmcv', '1.7.2'), ('mmdet', '3.2.0'), ('mmdet', '3.4.0rc1')])
def test_a_version_outside_the_range_is_refused_with_the_range(monkeypatch, name, found):
    monkeypatch.setattr(importlib.import_module(name), '__version__', found)
    with pytest.raises(ImportError, match=f'needs {stated_range(name)}, found {name} {found}'):
        check_dependency_versions((name, ))


@pytest.mark.parametrize('name, found', [('torch', '2.7.0'), ('torch', '2.13.0+cpu'), ('mmcv', '2.0.0rc4'),
                                         ('mmdet', '3.3.0')])
def test_versions_inside_the_range_pass(monkeypatch, name, found):
    monkeypatch.setattr(importlib.import_module(name), '__version__', found)
    check_dependency_versions((name, ))


def test_the_installed_stack_is_supported():
    check_dependency_versions()


def test_packaging_states_the_same_ranges():
    setup_cfg = configparser.ConfigParser()
    setup_cfg.read(ROOT / 'setup.cfg')
    install_requires = setup_cfg['options']['install_requires'].split()
    mminstall = [line.strip() for line in (ROOT / 'requirements/mminstall.txt').read_text().splitlines()
                 if line.strip() and not line.startswith('#')]
    assert stated_range('torch') in install_requires and stated_range('mmdet') in install_requires
    assert sorted(mminstall) == sorted([stated_range('mmcv'), stated_range('mmengine')])
