"""The plugin's registry policy, in one place.

Every module is registered in **mmdet's registries** (``mmdet.registry.MODELS``, ``HOOKS``, ``DATASETS``,
``DATA_SAMPLERS``, ``OPTIM_WRAPPERS``, ``OPTIM_WRAPPER_CONSTRUCTORS``), which configs with ``default_scope = 'mmdet'``
search, except where the code that builds a module looks only in **mmengine's root registry**:

- ``MODELS``: ``CondConv2d``, its deploy-time ``CollapsedCondConv2d`` and the routing functions, because mmcv's
  ``build_conv_layer`` (``conv_cfg=dict(type='CondConv2d')`` in any ``ConvModule``) searches the root ``MODELS``
  when no default scope is set;
- ``RUNNERS``: ``CPUDDPRunner``, because mmdet's ``tools/train.py`` builds ``runner_type`` from the root
  ``RUNNERS`` before any default scope exists.

A module in the root is found from mmdet's registries too (a registry falls through to its parent), so every
registered name resolves from an mmdet config; importing :mod:`condconv_det` registers everything.

The registries below are **empty children of mmdet's, with scope** ``'condconv_det'``. mmengine marks every dict of a
config inherited through ``_base_ = 'condconv_det::…'`` with ``_scope_ = 'condconv_det'``; building such a dict
imports this module and looks for a registry of that scope in the registry tree. Each child resolves a type by
falling through to mmdet's registry and then mmengine's, exactly as the ``mmdet`` scope would, so the ``condconv_det``
scope builds the same objects and mmengine logs no "Failed to search registry" fallback.

``condconv_det::`` is a prefix mmengine's config loader accepts only for packages in its
``mmengine.config.utils.MODULE2PACKAGE``. This module adds the plugin there, which is enough once the plugin is
imported (``tools/train.py``, ``mim train condconv_det``). An installed wheel also ships
``_condconv_det_config_prefix.py`` and a ``.pth`` file that add it before any config is read, for mmdet's own tools.
"""
from mmdet import registry as mmdet_registry
from mmengine import registry as mmengine_registry
from mmengine.config.utils import MODULE2PACKAGE
from mmengine.registry import Registry

SCOPE = 'condconv_det'
MODULE2PACKAGE.setdefault(SCOPE, SCOPE)


def _child_of(parent: Registry) -> Registry:
    """An empty registry of scope ``condconv_det`` under ``parent`` (same name and build function). Its import
    location is the package: importing it registers the plugin's modules (in mmdet's registries)."""
    return Registry(parent.name, parent=parent, scope=SCOPE, locations=[SCOPE])


RUNNERS = _child_of(mmdet_registry.RUNNERS)
RUNNER_CONSTRUCTORS = _child_of(mmdet_registry.RUNNER_CONSTRUCTORS)
LOOPS = _child_of(mmdet_registry.LOOPS)
HOOKS = _child_of(mmdet_registry.HOOKS)
DATASETS = _child_of(mmdet_registry.DATASETS)
DATA_SAMPLERS = _child_of(mmdet_registry.DATA_SAMPLERS)
TRANSFORMS = _child_of(mmdet_registry.TRANSFORMS)
MODELS = _child_of(mmdet_registry.MODELS)
MODEL_WRAPPERS = _child_of(mmdet_registry.MODEL_WRAPPERS)
WEIGHT_INITIALIZERS = _child_of(mmdet_registry.WEIGHT_INITIALIZERS)
OPTIMIZERS = _child_of(mmdet_registry.OPTIMIZERS)
OPTIM_WRAPPERS = _child_of(mmdet_registry.OPTIM_WRAPPERS)
OPTIM_WRAPPER_CONSTRUCTORS = _child_of(mmdet_registry.OPTIM_WRAPPER_CONSTRUCTORS)
PARAM_SCHEDULERS = _child_of(mmdet_registry.PARAM_SCHEDULERS)
METRICS = _child_of(mmdet_registry.METRICS)
EVALUATOR = _child_of(mmdet_registry.EVALUATOR)
TASK_UTILS = _child_of(mmdet_registry.TASK_UTILS)
VISUALIZERS = _child_of(mmdet_registry.VISUALIZERS)
VISBACKENDS = _child_of(mmdet_registry.VISBACKENDS)
LOG_PROCESSORS = _child_of(mmdet_registry.LOG_PROCESSORS)
# mmengine roots that mmdet 3.3 has no child of (a config's collate_fn, strategies, inferencers)
FUNCTIONS = _child_of(mmengine_registry.FUNCTIONS)
STRATEGIES = _child_of(mmengine_registry.STRATEGIES)
INFERENCERS = _child_of(mmengine_registry.INFERENCERS)
