"""Routing analysis: streaming statistics match a direct computation, class specificity separates class-dependent
from constant / class-blind routing, and tools/analysis/routing_analysis.py writes every figure and numbers file for
a CondConv SSDLite over a tiny demo split."""
import json
import subprocess
import sys
from pathlib import Path
from typing import List

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmdet.structures import DetDataSample
from mmengine.model import BaseModel
from mmengine.structures import InstanceData

from condconv_det.analysis.routing_plots import FIGURE_NAMES
from condconv_det.analysis.routing_stats import (LayerRoutingStats, RoutingRecorder, RoutingStatistics,
                                                 class_weights_of, collect_routing_statistics, find_routing_modules,
                                                 short_layer_name, stage_of)
from condconv_det.layers import CondConv2d, SigmoidRouting

ROOT = Path(__file__).resolve().parents[2]
DEMO_CONDCONV_CONFIG = ROOT / 'configs/ssdlite/ssdlite_condconv8x-mobilenetv2_1xb16-30e_demo.py'
NUM_CLASSES = 3


class SyntheticRoutedModel(BaseModel):
    """A block-shared routing (``block.routing``) and a CondConv with its own routing (``conv.routing``) over the
    image: the routing depends on the class exactly as much as the images do."""

    def __init__(self, constant: bool = False) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.block = nn.Module()
        self.block.routing = SigmoidRouting(NUM_CLASSES, 4)
        self.conv = CondConv2d(NUM_CLASSES, 4, 3, padding=1, num_experts=4)
        with torch.no_grad():
            for routing in (self.block.routing, self.conv.routing):
                routing.fc.weight.mul_(0.0 if constant else 8.0)

    def forward(self, inputs: List[torch.Tensor], data_samples=None, mode: str = 'tensor'):
        x = torch.stack(inputs).float()
        self.block.routing(x)
        return self.conv(x)


def synthetic_batches(class_dependent_images: bool, num_batches: int = 12, batch_size: int = 8, seed: int = 0):
    """Images ``(3, 8, 8)``: with ``class_dependent_images`` the channel of the image's first (and largest) GT box's
    class is bright, otherwise the images are noise unrelated to the labels. One or two GT boxes per image."""
    generator = torch.Generator().manual_seed(seed)
    for _ in range(num_batches):
        inputs, samples = [], []
        for _ in range(batch_size):
            labels = torch.randint(NUM_CLASSES, (int(torch.randint(1, 3, (1, ), generator=generator)), ),
                                   generator=generator)
            image = torch.rand(NUM_CLASSES, 8, 8, generator=generator)
            if class_dependent_images:
                image[labels[0]] += 1.0
            sample = DetDataSample()
            bboxes = torch.tensor([[0., 0., 4., 4.]]).repeat(len(labels), 1)
            bboxes[0, 2:] = 6.0  # the bright class also covers the largest area (assign='area')
            sample.gt_instances = InstanceData(labels=labels, bboxes=bboxes)
            inputs.append(image)
            samples.append(sample)
        yield dict(inputs=inputs, data_samples=samples)


def specificity_of(model: nn.Module, class_dependent_images: bool) -> List[float]:
    stats = collect_routing_statistics(model, synthetic_batches(class_dependent_images), ['a', 'b', 'c'])
    return [layer['specificity']['eta_squared'] for layer in stats.summary()['layers']]


def test_class_dependent_routing_is_more_class_specific_than_constant_or_class_blind_routing():
    class_dependent = specificity_of(SyntheticRoutedModel(), class_dependent_images=True)
    class_blind = specificity_of(SyntheticRoutedModel(), class_dependent_images=False)
    constant = specificity_of(SyntheticRoutedModel(constant=True), class_dependent_images=True)
    assert len(class_dependent) == 2  # block-shared routing and the CondConv's own routing
    assert min(class_dependent) > 0.3
    assert constant == [0.0, 0.0]
    assert max(class_blind) < 0.15
    assert min(class_dependent) > max(class_blind) + 0.2


def test_streaming_statistics_equal_the_direct_computation():
    generator = torch.Generator().manual_seed(1)
    routing = torch.sigmoid(torch.randn(100, 5, generator=generator) * 2 + 3)  # mostly near 1: cancellation-prone
    labels = torch.randint(NUM_CLASSES, (100, ), generator=generator)
    weights = torch.nn.functional.one_hot(labels, NUM_CLASSES).double()
    stats = LayerRoutingStats(5, NUM_CLASSES, num_bins=10)
    for start in range(0, 100, 7):
        stats.update(routing[start:start + 7], weights[start:start + 7])
    summary = stats.summary(['a', 'b', 'c'])
    r = routing.double().numpy()
    np.testing.assert_allclose(summary['mean'], r.mean(0), rtol=1e-12)
    np.testing.assert_allclose(summary['std'], r.std(0), rtol=1e-9)
    np.testing.assert_array_equal(summary['expert_min'], r.min(0))
    np.testing.assert_array_equal(summary['expert_max'], r.max(0))
    grand = r.mean(0)
    between = sum((labels == c).sum().item() * ((r[labels.numpy() == c].mean(0) - grand)**2).sum()
                  for c in range(NUM_CLASSES))
    total = ((r - grand)**2).sum()
    assert summary['specificity']['eta_squared'] == pytest.approx(between / total, rel=1e-9)
    np.testing.assert_allclose(summary['class_means']['b'], r[labels.numpy() == 1].mean(0), rtol=1e-12)
    assert sum(summary['histogram']) == pytest.approx(1.0)
    assert sum(summary['expert_dominant_fraction']) == pytest.approx(1.0)


def test_recorder_names_block_shared_and_head_level_routing():
    assert short_layer_name('backbone.layer4.0.routing') == 'backbone.layer4.0'
    assert short_layer_name('backbone.conv2.conv.routing') == 'backbone.conv2'
    assert stage_of('bbox_head.level_routings.3') == 'bbox_head.level3'
    assert stage_of('backbone.layer4.2.routing') == 'backbone.layer4'
    model = SyntheticRoutedModel()
    assert list(find_routing_modules(model)) == ['block.routing', 'conv.routing']
    with RoutingRecorder(model) as recorder:
        model([torch.rand(3, 8, 8)] * 2)
        routing = recorder.pop()
    assert {name: tuple(r.shape) for name, r in routing.items()} == {'block.routing': (2, 4), 'conv.routing': (2, 4)}
    assert recorder.pop() == {}
    stats = RoutingStatistics(['a', 'b', 'c'])
    stats.update(routing)
    assert stats.images == 2


@pytest.fixture(scope='module')
def tiny_demo(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp('routing_demo')
    subprocess.run([sys.executable, str(ROOT / 'tools/misc/make_demo_dataset.py'), '--out', 'data/demo',
                    '--num-train', '8', '--num-val', '4'], cwd=work, check=True, capture_output=True)
    return work


def random_init_checkpoint(config: Path, path: Path) -> Path:
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config
    register_all_modules(init_default_scope=True)
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(str(config)).model)
    torch.save(dict(state_dict=model.state_dict()), path)
    return path


def test_routing_analysis_tool_writes_every_figure_and_the_numbers(tiny_demo, monkeypatch, load_tool):
    monkeypatch.chdir(tiny_demo)
    checkpoint = random_init_checkpoint(DEMO_CONDCONV_CONFIG, tiny_demo / 'random.pth')
    tool = load_tool('tools/analysis/routing_analysis.py')
    out_dir = tiny_demo / 'analysis'
    summary = tool.main([str(DEMO_CONDCONV_CONFIG), str(checkpoint), '--out-dir', str(out_dir), '--max-images', '3',
                         '--batch-size', '2', '--num-workers', '0', '--dpi', '40'])
    for kind in FIGURE_NAMES:
        png = out_dir / f'routing_{kind}.png'
        assert png.is_file() and png.read_bytes()[:4] == b'\x89PNG', png
    for name in ('routing_stats.json', 'routing_layers.csv', 'routing_class_means.csv'):
        assert (out_dir / name).stat().st_size > 0
    numbers = json.loads((out_dir / 'routing_stats.json').read_text())
    assert numbers['images'] == 3 and numbers['class_names'] == ['circle', 'triangle', 'rectangle']
    names = [layer['name'] for layer in numbers['layers']]
    assert 'backbone.layer4.0.routing' in names and 'bbox_head.level_routings.5' in names
    assert names.index('backbone.layer4.0.routing') < names.index('bbox_head.level_routings.0')  # depth order
    assert all(layer['images'] == 3 for layer in numbers['layers'])
    assert summary['layers'][0]['class_samples'] == numbers['layers'][0]['class_samples']
    rows = (out_dir / 'routing_layers.csv').read_text().strip().splitlines()
    assert len(rows) == 1 + len(names)
    spread = numbers['expert_spread']  # random-init experts: independent, spread about sqrt(E - 1)
    assert set(spread['parts']) == {'backbone', 'bbox_head'} and 'backbone.conv2.conv' in spread['layers']
    assert all(1.5 < value < 4 for value in spread['layers'].values())


def test_class_assignment_modes():
    sample = DetDataSample()
    sample.gt_instances = InstanceData(labels=torch.tensor([0, 1, 1]),
                                       bboxes=torch.tensor([[0., 0., 10., 10.], [0., 0., 3., 3.], [5., 5., 9., 9.]]))
    empty = DetDataSample()
    empty.gt_instances = InstanceData(labels=torch.zeros(0, dtype=torch.long), bboxes=torch.zeros(0, 4))
    assert class_weights_of([sample, empty], 3, 'area').tolist() == [[1, 0, 0], [0, 0, 0]]
    assert class_weights_of([sample], 3, 'presence').tolist() == [[1, 1, 0]]
    assert class_weights_of([sample], 3, 'boxes').tolist() == [[1, 2, 0]]
    sample.gt_instances.bboxes = torch.zeros(3, 4)  # equal (zero) areas: the class with more boxes
    assert class_weights_of([sample], 3, 'area').tolist() == [[0, 1, 0]]
