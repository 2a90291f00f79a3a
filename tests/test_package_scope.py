"""Configs inherited through ``condconv_det::`` (the installed wheel's ``.mim`` layout, made here with setup.py's own
copy step) carry ``_scope_ = 'condconv_det'``; that scope builds and trains them without mmengine's registry fallback
warnings, and mmengine accepts the prefix before the plugin is imported once ``_condconv_det_config_prefix`` is
installed (the wheel's ``.pth`` line). The real wheel in a fresh venv: tests/test_wheel_install.py."""
import logging
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from mmengine.config import Config

import condconv_det  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope='module')
def wheel_check(load_tool) -> ModuleType:
    """tools/misc/check_wheel_install.py: the user config, the demo sizes and the warnings the wheel check uses."""
    return load_tool('tools/misc/check_wheel_install.py')


@pytest.fixture
def installed_package(tmp_path, monkeypatch, load_tool) -> Path:
    """``<tmp>/site/condconv_det/.mim`` as the wheel has it; mmengine's config loader looks the package up there."""
    package = tmp_path / 'site' / 'condconv_det'
    load_tool('setup.py').copy_mim_files(str(package))  # the wheel's own copy step
    import mmengine.config.config as mmengine_config
    real = mmengine_config.get_installed_path
    monkeypatch.setattr(mmengine_config, 'get_installed_path',
                        lambda name: str(package) if name == 'condconv_det' else real(name))
    return package


@pytest.fixture
def warnings_logged(monkeypatch) -> list:
    """Messages mmengine logs at WARNING or above (its registry calls ``mmengine.logging.print_log``)."""
    import mmengine.logging
    logged = []
    original = mmengine.logging.print_log

    def record(msg, logger=None, level=logging.INFO):
        if level >= logging.WARNING:
            logged.append(str(msg))
        return original(msg, logger=logger, level=level)

    monkeypatch.setattr(mmengine.logging, 'print_log', record)
    return logged


def fallbacks(wheel_check: ModuleType, messages: list) -> list:
    return [m for m in messages if any(warning in m for warning in wheel_check.FALLBACK_WARNINGS)]


def test_wheel_layout_has_configs_tools_and_index(installed_package, wheel_check):
    mim = installed_package / '.mim'
    assert (mim / 'configs' / wheel_check.BASE_CONFIG).is_file() and (mim / 'model-index.yml').is_file()
    assert (mim / 'tools/train.py').is_file() and (mim / 'tools/misc/make_demo_dataset.py').is_file()
    assert not list(mim.rglob('__pycache__'))


def test_user_config_inherits_with_the_condconv_det_scope(installed_package, tmp_path, wheel_check):
    (tmp_path / 'user_config.py').write_text(wheel_check.USER_CONFIG)
    cfg = Config.fromfile(str(tmp_path / 'user_config.py'))
    assert cfg.model._scope_ == 'condconv_det' and cfg.model.backbone.type == 'CondConvMobileNetV2'
    assert cfg.train_cfg.max_epochs == 1 and cfg.train_cfg.type == 'EpochBasedTrainLoop'
    assert cfg.val_evaluator._scope_ == 'condconv_det'
    assert cfg.default_hooks.logger._scope_ == 'mmdet'  # inherited by our config from mmdet's default_runtime


def test_condconv_det_scope_trains_and_evaluates_without_fallback_warnings(installed_package, tmp_path, monkeypatch,
                                                                           warnings_logged, wheel_check):
    from mmengine.runner import Runner
    monkeypatch.chdir(tmp_path)
    subprocess.run([sys.executable, str(ROOT / 'tools/misc/make_demo_dataset.py'), '--out', 'data/demo',
                    '--num-train', str(wheel_check.DEMO_IMAGES['train']),
                    '--num-val', str(wheel_check.DEMO_IMAGES['val'])],
                   check=True, capture_output=True)
    (tmp_path / 'user_config.py').write_text(wheel_check.USER_CONFIG)
    cfg = Config.fromfile(str(tmp_path / 'user_config.py'))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.default_hooks.checkpoint = None
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 2
    metrics = runner.val_loop.run()
    assert 'coco/bbox_mAP' in metrics
    assert not fallbacks(wheel_check, warnings_logged), fallbacks(wheel_check, warnings_logged)


def test_a_scope_without_registries_is_reported(warnings_logged, wheel_check):
    """The control: an unknown scope does log the fallback warning the test above checks for."""
    from mmdet.registry import MODELS
    MODELS.build(dict(type='ResNet', depth=18, _scope_='no_such_package'))
    reported = fallbacks(wheel_check, warnings_logged)
    assert any('Failed to search registry with scope "no_such_package"' in m for m in reported)


@pytest.mark.parametrize('install', [True, False])
def test_config_prefix_is_accepted_before_the_plugin_is_imported(install):
    code = ('import sys\n'
            + ('import _condconv_det_config_prefix as hook; hook.install()\n' if install else '')
            + 'from mmengine.config.utils import MODULE2PACKAGE, _get_package_and_cfg_path\n'
            'try:\n'
            "    print(_get_package_and_cfg_path('condconv_det::ssdlite/x.py'))\n"
            'except AssertionError as error:\n'
            "    print('refused:', error)\n"
            "print('condconv_det imported:', 'condconv_det' in sys.modules)\n")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True).stdout
    assert 'condconv_det imported: False' in out
    if install:
        assert "('condconv_det', 'ssdlite/x.py')" in out
    else:  # mmengine alone refuses the prefix: what the .pth line is for
        assert 'refused: mmengine does not support to load condconv_det config' in out


def test_readme_shows_the_tested_user_config_and_commands(wheel_check):
    readme = (ROOT / 'README.md').read_text()
    config_lines = [line for line in wheel_check.USER_CONFIG.splitlines() if line and not line.startswith('#')]
    assert '\n'.join(config_lines) in readme.replace('\n\n', '\n')
    assert 'python -m mim train condconv_det user_config.py' in readme
    assert 'python -m mim test condconv_det user_config.py --checkpoint' in readme
