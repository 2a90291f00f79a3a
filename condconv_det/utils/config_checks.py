"""Checks of a whole mmdet config before a run: plugin import, ``num_classes`` vs. classes, every dataset split."""
import os.path as osp
from typing import Any, Dict, Iterator, List, Optional, Tuple

from condconv_det.datasets.annotation_checks import check_coco_file
from condconv_det.datasets.check_report import CheckReport, DatasetCheckError

PLUGIN = 'condconv_det'
CUSTOM_IMPORTS_LINE = "custom_imports = dict(imports=['condconv_det'], allow_failed_imports=False)"


def _walk_types(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get('type'), str):
            yield node['type']
        for value in node.values():
            yield from _walk_types(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _walk_types(value)


def plugin_types(cfg: Dict) -> List[str]:
    """Types used in ``cfg`` that only ``condconv_det`` registers (e.g. ``CondConvSSDHead``)."""
    import condconv_det  # noqa: F401
    from mmdet.registry import DATASETS, HOOKS, MODELS
    from mmengine.registry import RUNNERS
    found = []
    for name in sorted(set(_walk_types(dict(cfg))) | {cfg.get('runner_type') or 'Runner'}):
        for registry in (MODELS, DATASETS, HOOKS, RUNNERS):
            obj = registry.get(name) if isinstance(name, str) and '.' not in name else None
            if obj is not None and getattr(obj, '__module__', '').startswith(PLUGIN + '.'):
                found.append(name)
                break
    return found


def check_custom_imports(cfg: Dict) -> Optional[str]:
    """An error message when the config uses the plugin's types without importing it, else ``None``."""
    used = plugin_types(cfg)
    imports = (cfg.get('custom_imports') or {}).get('imports', [])
    imports = [imports] if isinstance(imports, str) else list(imports)
    if used and not any(name == PLUGIN or name.startswith(PLUGIN + '.') for name in imports):
        return (f'the config uses {used} from {PLUGIN} but does not import it, so mmdet\'s own tools fail with '
                f'"... is not in the mmdet::model registry". Fix: add `{CUSTOM_IMPORTS_LINE}` to the config.')
    return None


def _head_num_classes(model: Dict) -> List[Tuple[str, int]]:
    found = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            if isinstance(node.get('num_classes'), int) and path.split('.')[-1] not in ('backbone', 'rpn_head'):
                found.append((path, node['num_classes']))
            for key, value in node.items():
                walk(value, f'{path}.{key}' if path else key)
        elif isinstance(node, (list, tuple)):
            for i, value in enumerate(node):
                walk(value, f'{path}.{i}')
    walk(model, 'model')
    return found


def _datasets(node: Any) -> Iterator[Dict]:
    """The leaf dataset configs of a dataset config (through RepeatDataset/ConcatDataset/ClassBalancedDataset)."""
    if isinstance(node, dict):
        if 'ann_file' in node:
            yield node
        for key in ('dataset', 'datasets'):
            yield from _datasets(node.get(key))
    elif isinstance(node, (list, tuple)):
        for item in node:
            yield from _datasets(item)


def dataset_paths(dataset: Dict) -> Tuple[str, Optional[str]]:
    """``(annotation file, image folder)`` of a dataset config, joined with ``data_root`` as mmengine does."""
    root = dataset.get('data_root') or ''
    ann_file = dataset['ann_file'] if osp.isabs(dataset['ann_file']) else osp.join(root, dataset['ann_file'])
    img = (dataset.get('data_prefix') or {}).get('img')
    if img is not None and not osp.isabs(img):
        img = osp.join(root, img)
    return ann_file, img


def check_config(cfg: Dict, splits: Tuple[str, ...] = ('train', 'val', 'test'),
                 check_images: str = 'header') -> Tuple[List[str], List[CheckReport]]:
    """Config-level errors plus one report per dataset of ``splits`` (a missing/unreadable file is an error)."""
    errors: List[str] = []
    message = check_custom_imports(cfg)
    if message:
        errors.append(message)
    seen = set()
    reports = []
    for split in splits:
        loader = cfg.get(f'{split}_dataloader')
        if not loader:
            continue
        for dataset in _datasets(loader.get('dataset')):
            classes = (dataset.get('metainfo') or {}).get('classes')
            if classes is not None:
                for where, number in _head_num_classes(cfg.get('model', {})):
                    if number != len(classes):
                        errors.append(f'{where}.num_classes={number} but {split} dataset has {len(classes)} classes '
                                      f'{tuple(classes)}. Fix: set {where}.num_classes={len(classes)} (or the '
                                      'dataset\'s metainfo.classes).')
            ann_file, img_dir = dataset_paths(dataset)
            key = (ann_file, img_dir)
            if key in seen:
                continue
            seen.add(key)
            try:
                reports.append(check_coco_file(ann_file, img_dir, classes, check_images,
                                               test_mode=bool(dataset.get('test_mode', False))))
            except DatasetCheckError as error:
                errors.append(str(error))
    return list(dict.fromkeys(errors)), reports
