"""The registry policy of condconv_det/registry.py: every module of the plugin is in mmdet's registries, except the
conv layers and routing functions (mmcv's ``build_conv_layer`` searches mmengine's root ``MODELS``) and the runner
(mmdet's ``tools/train.py`` builds ``runner_type`` from the root ``RUNNERS``); every name resolves where a config
built with ``default_scope='mmdet'`` or inherited through ``condconv_det::`` looks for it."""
import mmdet.registry as mmdet_registry
import mmengine.registry as mmengine_registry
import pytest
import torch
import torch.nn as nn
from mmcv.cnn import build_conv_layer
from mmengine.registry import DefaultScope, Registry
from mmengine.runner import Runner

import condconv_det  # noqa: F401  (registers everything)

# The names configs use, by registry: renaming one breaks configs.
IN_MMDET = {
    'HOOKS': ('CheckpointCompatibilityHook', 'RankStateDumpHook', 'RoutingStatsHook', 'RoutingTemperatureHook',
              'TrainBatchCheckHook'),
    'DATASETS': ('CheckedCocoDataset', ),
    'DATA_SAMPLERS': ('FillLastBatchSampler', ),
    'OPTIM_WRAPPERS': ('CPUBF16OptimWrapper', ),
    'OPTIM_WRAPPER_CONSTRUCTORS': ('CondConvOptimWrapperConstructor', ),
    'MODELS': ('CondConvMobileNetV1', 'CondConvMobileNetV2', 'CondConvMnasNet', 'CondConvEfficientNet',
               'CondConvResNet', 'CondConvSSDHead', 'RoutingCollapsedModel'),
}
IN_ROOT = {'MODELS': ('CondConv2d', 'CollapsedCondConv2d', 'SigmoidRouting', 'SoftmaxRouting'),
           'RUNNERS': ('CPUDDPRunner', )}


def _plugin_entries(registry: Registry) -> dict:
    """Name -> object of the entries the plugin registered in ``registry`` itself (not in its parents)."""
    return {name: obj for name, obj in registry.module_dict.items()
            if getattr(obj, '__module__', '').startswith('condconv_det.')}


def _root_registries() -> dict:
    return {name: registry for name, registry in vars(mmengine_registry).items()
            if isinstance(registry, Registry) and registry.parent is None}


def test_the_names_configs_use_are_registered_where_the_policy_says():
    for name, names in IN_MMDET.items():
        assert set(names) <= set(_plugin_entries(getattr(mmdet_registry, name))), name
    for name, names in IN_ROOT.items():
        assert set(names) <= set(_plugin_entries(getattr(mmengine_registry, name))), name


def test_only_conv_layers_routing_functions_and_runners_are_in_mmengines_root():
    for name, registry in _root_registries().items():
        for entry, obj in _plugin_entries(registry).items():
            if name == 'MODELS':
                assert issubclass(obj, nn.Module) and entry.endswith(('Conv2d', 'Routing')), entry
            else:
                assert name == 'RUNNERS' and issubclass(obj, Runner), (name, entry)


@pytest.mark.parametrize('scope', ['mmdet', 'condconv_det'])
def test_every_name_resolves_in_the_scope_a_config_builds_in(scope):
    # mmengine's builders select the registry of the current default scope, as the Runner sets it from the config's
    # default_scope ('mmdet'), or from the _scope_ of a dict inherited through condconv_det:: ('condconv_det').
    with DefaultScope.overwrite_default_scope(scope):
        for name, names in {**IN_MMDET, **IN_ROOT}.items():
            with getattr(mmengine_registry, name).switch_scope_and_registry(None) as registry:
                assert registry.scope == scope
                for entry in names:
                    assert registry.get(entry) is not None, (scope, name, entry)


def test_conv_cfg_builds_condconv_through_mmcv():
    conv = build_conv_layer(dict(type='CondConv2d', num_experts=2), 4, 8, 3, padding=1)
    assert type(conv).__name__ == 'CondConv2d' and conv(torch.randn(2, 4, 5, 5)).shape == (2, 8, 5, 5)
