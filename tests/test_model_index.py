"""model-index.yml and the metafile.yml of every config family (OpenMMLab format).

Every config is indexed exactly once and every entry's config exists; the metadata agree with the config; results
are only figures measured in this project (BCCD, demo; no COCO) and each one is stated in README.md's section of its
dataset. The figures are read from the metafiles, so re-running a study means updating the metafile and README
together. MADDs and parameters are recounted from the models in the slow test.
"""
import re
from pathlib import Path
from typing import Dict, List, Set

import pytest
import yaml
from mmengine.config import Config

ROOT = Path(__file__).resolve().parents[1]
README_SECTIONS = {'BCCD': '### BCCD', 'demo': '### Demo'}  # dataset -> heading of the README section with results
DATA_ROOTS = {'data/demo/': 'demo', 'data/bccd/': 'BCCD', 'data/coco/': 'COCO'}


def load_index() -> List[Dict]:
    index = yaml.safe_load((ROOT / 'model-index.yml').read_text())
    models = []
    for metafile in index['Import']:
        for model in yaml.safe_load((ROOT / metafile).read_text())['Models']:
            models.append(dict(model, metafile=metafile))
    return models


MODELS = load_index()


def config_files() -> Set[str]:
    return {str(p.relative_to(ROOT)) for p in (ROOT / 'configs').glob('*/*.py')
            if p.parent.name != '_base_' and not p.is_symlink()}  # a link at a former name is no config of its own


def readme_section(heading: str) -> str:
    """README.md from the line starting with ``heading`` to the next heading of the same or a higher level."""
    text = (ROOT / 'README.md').read_text()
    start = text.index('\n' + heading) + 1
    body = text.index('\n', start)
    following = re.search(r'^#{1,%d} ' % len(heading.split()[0]), text[body:], re.M)
    return text[start:body + following.start()] if following else text[start:]


def numbers_in(text: str) -> Set[str]:
    return set(re.findall(r'(?<![\d.])\d+\.\d+(?![\d.])', text))


def walk_experts(node) -> List[int]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == 'num_experts' and isinstance(v, int)] + \
            [e for v in node.values() for e in walk_experts(v)]
    if isinstance(node, (list, tuple)):
        return [e for v in node for e in walk_experts(v)]
    return []


def train_dataset(cfg: Config):
    dataset = cfg.train_dataloader.dataset
    return dataset.dataset if 'dataset' in dataset else dataset


def test_every_config_is_indexed_once_and_every_entry_exists():
    configs = [model['Config'] for model in MODELS]
    assert sorted(configs) == sorted(set(configs)), 'a config is indexed twice'
    assert set(configs) == config_files(), (f'not indexed: {sorted(config_files() - set(configs))}; '
                                            f'indexed but absent: {sorted(set(configs) - config_files())}')
    for model in MODELS:
        assert model['Name'] == Path(model['Config']).stem
        assert Path(model['Config']).parent == Path(model['metafile']).parent, model['Name']
    index = yaml.safe_load((ROOT / 'model-index.yml').read_text())
    metafiles = (ROOT / 'configs').glob('*/metafile.yml')
    assert sorted(index['Import']) == sorted(str(p.relative_to(ROOT)) for p in metafiles)


@pytest.mark.parametrize('model', MODELS, ids=[m['Name'] for m in MODELS])
def test_metadata_agree_with_the_config(model):
    cfg = Config.fromfile(str(ROOT / model['Config']))
    meta = model['Metadata']
    assert meta['Task'] == 'Object Detection'
    assert meta['Backbone'] == cfg.model.backbone.type
    assert meta['Experts'] == max(walk_experts(cfg.model.to_dict()), default=0)
    assert meta['Training Data'] == DATA_ROOTS[train_dataset(cfg).data_root]
    assert meta['Epochs'] == cfg.train_cfg.max_epochs * cfg.train_dataloader.dataset.get('times', 1)
    assert meta['Batch Size'] == cfg.train_dataloader.batch_size
    dataset = cfg.test_dataloader.dataset
    resize = next(step for step in dataset.pipeline if step['type'] == 'Resize')
    assert meta['Input Size'] == '{}x{}'.format(*resize['scale'])


@pytest.mark.parametrize('model', [m for m in MODELS if 'Results' in m], ids=[m['Name'] for m in MODELS
                                                                               if 'Results' in m])
def test_results_were_measured_here_and_readme_states_them(model):
    for result in model['Results']:
        assert result['Task'] == 'Object Detection'
        assert result['Dataset'] in README_SECTIONS, f"{model['Name']}: no {result['Dataset']} result was measured"
        assert result['Dataset'] == model['Metadata']['Training Data']
        stated = numbers_in(readme_section(README_SECTIONS[result['Dataset']]))
        for metric, value in result['Metrics'].items():
            assert f'{value:.3f}' in stated, (f"{model['Name']}: {metric} {value:.3f} ({result['Split']}) is not in "
                                              f"README.md's {README_SECTIONS[result['Dataset']]!r} section")


def test_readme_number_lookup_finds_only_whole_numbers():
    stated = numbers_in(readme_section(README_SECTIONS['demo']))
    assert '0.203' in stated and '0.20' not in stated and '0.999' not in stated


@pytest.mark.slow
@pytest.mark.parametrize('model', MODELS, ids=[m['Name'] for m in MODELS])
def test_madds_and_params_match_the_model(model, load_tool):
    import torch
    benchmark_detector = load_tool('tools/analysis/benchmark_detector.py')
    cfg = benchmark_detector.load_config(str(ROOT / model['Config']))
    detector = benchmark_detector.build_detector(cfg, torch.device('cpu'))
    width, height = map(int, model['Metadata']['Input Size'].split('x'))
    counted = benchmark_detector.complexity(detector, (height, width), torch.device('cpu'))
    assert f"{counted['madds'] / 1e9:.3f}" == f"{model['Metadata']['MADDs (G)']:.3f}"
    assert f"{counted['params'] / 1e6:.2f}" == f"{model['Metadata']['Parameters (M)']:.2f}"
