"""Helpers for working with mmengine config nodes."""
from typing import Any, Optional, Tuple


def without_pretrained(node: Any) -> Any:
    """A copy of a config node with every ``init_cfg`` of type ``Pretrained`` removed (offline builds: tests and
    benchmarks, where the weights do not matter and no download is possible)."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == 'init_cfg':
                if isinstance(value, dict) and value.get('type') == 'Pretrained':
                    value = None
                elif isinstance(value, (list, tuple)):
                    value = [v for v in value if not (isinstance(v, dict) and v.get('type') == 'Pretrained')] or None
            out[key] = without_pretrained(value)
        return out
    if isinstance(node, (list, tuple)):
        return type(node)(without_pretrained(v) for v in node)
    return node


def fixed_input_size(cfg: Any) -> Optional[Tuple[int, int]]:
    """(H, W) of the test pipeline's fixed-size ``Resize`` (no ``keep_ratio``), looking through dataset wrappers;
    ``None`` when the pipeline has none (e.g. keep-ratio detectors)."""
    dataset = cfg.test_dataloader.dataset
    while 'pipeline' not in dataset and 'dataset' in dataset:
        dataset = dataset.dataset
    for step in dataset.get('pipeline', []):
        if step['type'] == 'Resize' and not step.get('keep_ratio', False) and 'scale' in step:
            width, height = step['scale']
            return int(height), int(width)
    return None
