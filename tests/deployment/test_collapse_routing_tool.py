"""tools/deployment/collapse_routing.py on the CondConv SSDLite demo detector with constant routing (routing weights
zeroed): every routing module collapses, the written config + checkpoint load in tools/test.py (same mAP),
benchmark_detector.py and pytorch2onnx.py, reload strictly and train with a gradient for every parameter; --tol 0
changes nothing; bad input (negative tolerance, another architecture's checkpoint, a config without CondConv) gets
a clear error."""
import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from mmdet.registry import MODELS
from mmdet.testing import demo_mm_inputs
from mmdet.utils import register_all_modules
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.runner import Runner, load_checkpoint

from condconv_det.analysis.routing_stats import find_routing_modules
from condconv_det.layers import CondConv2d

ROOT = Path(__file__).resolve().parents[2]
DEMO_CONDCONV_CONFIG = ROOT / 'configs/ssdlite/ssdlite_condconv8x-mobilenetv2_1xb16-30e_demo.py'
DEMO_STATIC_CONFIG = ROOT / 'configs/ssdlite/ssdlite_mobilenetv2_1xb16-30e_demo.py'
ONE_PROCESS_CFG = {f'{split}_dataloader.{key}': value for split in ('val', 'test')
                   for key, value in (('num_workers', 0), ('persistent_workers', False))}
ONE_PROCESS = [f'{key}={value}' for key, value in ONE_PROCESS_CFG.items()]  # as --cfg-options
CLASSES = ('circle', 'triangle', 'rectangle')


@contextlib.contextmanager
def working_directory(path):
    previous = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


@pytest.fixture(scope='module')
def collapse_tool(load_tool):
    """tools/deployment/collapse_routing.py as a module."""
    return load_tool('tools/deployment/collapse_routing.py')


@pytest.fixture(scope='module')
def checkpoints(demo_work):
    """In the demo folder: a CondConv checkpoint with constant routing and a static one."""
    register_all_modules(init_default_scope=True)
    torch.manual_seed(0)
    condconv = MODELS.build(Config.fromfile(str(DEMO_CONDCONV_CONFIG)).model)
    condconv.init_weights()  # the config's initialisation: a well-scaled network
    with torch.no_grad():
        for routing in find_routing_modules(condconv).values():
            routing.fc.weight.zero_()  # constant routing sigmoid(b)
    torch.save(dict(state_dict=condconv.state_dict(), meta=dict(dataset_meta=dict(classes=CLASSES))),
               demo_work / 'condconv.pth')
    torch.save(dict(state_dict=MODELS.build(Config.fromfile(str(DEMO_STATIC_CONFIG)).model).state_dict()),
               demo_work / 'static.pth')
    return demo_work


def run_tool(tool, work, *args):
    """``tool.main`` in ``work``; returns its result and what it printed."""
    printed = io.StringIO()
    with working_directory(work), contextlib.redirect_stdout(printed):
        result = tool.main([str(a) for a in args])
    return result, printed.getvalue()


@pytest.fixture(scope='module')
def collapsed(checkpoints, collapse_tool):
    result, printed = run_tool(collapse_tool, checkpoints, DEMO_CONDCONV_CONFIG, 'condconv.pth', '--calib-split', 'val',
                               '--tol', 1e-3, '--out', 'out', '--static-config', DEMO_STATIC_CONFIG, '--repeats', 2,
                               '--warmup', 1, '--cfg-options', *ONE_PROCESS)
    return checkpoints, result, printed


def test_constant_routing_collapses_to_the_static_twins_cost(collapsed):
    work, result, printed = collapsed
    assert len(result['decisions']) == 18 and {d['action'] for d in result['decisions']} == {'collapse'}
    assert 'backbone.layer4.0.routing     8      3          0' in printed and 'latency / static' in printed
    stem = DEMO_CONDCONV_CONFIG.stem
    assert result['collapsed_config'] == os.path.join('out', f'{stem}_collapsed.py')
    assert (work / 'out' / f'{stem}_collapsed.pth').is_file()
    assert json.loads((work / result['report']).read_text())['figures'] == result['figures']
    figures = result['figures']
    assert figures['collapsed']['params'] == figures['static']['params'] < figures['original']['params'] / 5
    assert figures['collapsed']['madds'] == pytest.approx(figures['static']['madds'], rel=1e-9)
    assert figures['original']['madds'] > 1.05 * figures['static']['madds']
    assert figures['static']['latency_ratio_to_static'] == 1 and figures['collapsed']['latency_ratio_to_static'] > 0
    difference = result['raw_output_difference']
    assert difference['images'] == 4 and difference['max_abs_diff'] <= 1e-5 * difference['max_abs_output']
    checkpoint = torch.load(work / result['collapsed_checkpoint'], weights_only=True)
    assert checkpoint['meta']['dataset_meta']['classes'] == CLASSES
    assert checkpoint['meta']['collapse_routing']['tol'] == 1e-3


@pytest.mark.slow
def test_collapsed_checkpoint_tests_through_tools_test_py_with_the_original_map(collapsed, collapse_tool):
    work, result, _ = collapsed
    with working_directory(work):
        cfg = Config.fromfile(str(DEMO_CONDCONV_CONFIG))  # the original, evaluated in this process
        cfg.merge_from_dict(ONE_PROCESS_CFG)
        cfg.update(work_dir='test_original', load_from='condconv.pth')
        original = Runner.from_cfg(cfg).test()
        # run_test is what --test runs: tools/test.py CONFIG CHECKPOINT in a subprocess
        after = collapse_tool.run_test(result['collapsed_config'], result['collapsed_checkpoint'], 'test_collapsed',
                                       None)
    assert original['coco/bbox_mAP_50'] == pytest.approx(after['coco/bbox_mAP_50'], abs=1e-4)
    assert original['coco/bbox_mAP'] == pytest.approx(after['coco/bbox_mAP'], abs=1e-4)


def test_collapsed_config_loads_in_the_benchmark(collapsed, load_tool):
    work, result, _ = collapsed
    benchmark_detector = load_tool('tools/analysis/benchmark_detector.py')
    with working_directory(work):
        detector = benchmark_detector.build_detector(benchmark_detector.load_config(result['collapsed_config']),
                                                     torch.device('cpu'))
    assert not any(isinstance(m, CondConv2d) for m in detector.modules())
    assert sum(p.numel() for p in detector.parameters()) == result['figures']['static']['params']


def test_collapsed_checkpoint_exports_to_onnx_with_plain_convolutions(collapsed, load_tool):
    work, result, _ = collapsed
    images = sorted(str(p) for p in (work / 'data/demo/val').glob('*.jpg'))[:2]
    with working_directory(work):
        export = load_tool('tools/deployment/pytorch2onnx.py').main(
            [result['collapsed_config'], result['collapsed_checkpoint'], '--out', 'collapsed.onnx', '--dynamic-batch',
             '--verify', '--images', *images])
    assert export['traced_strategies'] == {}  # no CondConv2d left
    assert all(check['within'] for check in export['checks']) and len(export['checks']) == 2


def test_collapsed_checkpoint_reloads_strictly_through_the_config_and_trains(collapsed):
    work, result, _ = collapsed
    with working_directory(work):
        model = MODELS.build(Config.fromfile(result['collapsed_config']).model)
        load_checkpoint(model, result['collapsed_checkpoint'], strict=True)
    got_gradient = set()
    for name, param in model.named_parameters():
        param.register_post_accumulate_grad_hook(lambda p, name=name: got_gradient.add(name))
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    model.train()
    batch = demo_mm_inputs(batch_size=2, image_shapes=(3, 160, 160), num_items=[3, 3], num_classes=3)
    log_vars = model.train_step(batch, OptimWrapper(torch.optim.SGD(model.parameters(), lr=1e-2)))
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert got_gradient == trainable  # no unused parameter (DDP's find_unused_parameters=False would pass)
    assert torch.isfinite(log_vars['loss'])
    assert any(not torch.equal(before[n], p) for n, p in model.named_parameters())


def test_tol_zero_collapses_nothing(checkpoints, collapse_tool):
    result, printed = run_tool(collapse_tool, checkpoints, DEMO_CONDCONV_CONFIG, 'condconv.pth', '--tol', 0, '--out',
                               'out_tol0', '--max-images', 2, '--repeats', 1, '--warmup', 0, '--cfg-options',
                               *ONE_PROCESS)
    assert {d['action'] for d in result['decisions']} == {'keep'} and '18 kept' in printed
    assert Config.fromfile(str(checkpoints / result['collapsed_config'])).model.plan == []
    written = torch.load(checkpoints / result['collapsed_checkpoint'], weights_only=True)['state_dict']
    original = torch.load(checkpoints / 'condconv.pth', weights_only=True)['state_dict']
    assert list(written) == list(original) and all(torch.equal(written[k], original[k]) for k in written)
    assert result['raw_output_difference']['max_abs_diff'] == 0


@pytest.mark.slow
def test_finetune_schedule_trains_the_collapsed_model_from_its_checkpoint(checkpoints, collapse_tool):
    result, printed = run_tool(collapse_tool, checkpoints, DEMO_CONDCONV_CONFIG, 'condconv.pth', '--tol', 1e-3,
                               '--out', 'out_ft', '--max-images', 2, '--repeats', 1, '--warmup', 0,
                               '--finetune-epochs', 1, '--finetune-lr-factor', 0.5, '--cfg-options', *ONE_PROCESS)
    assert f"python tools/train.py {result['collapsed_config']}" in printed
    original = Config.fromfile(str(DEMO_CONDCONV_CONFIG))
    with working_directory(checkpoints):
        cfg = Config.fromfile(result['collapsed_config'])
        assert cfg.load_from == os.path.abspath(result['collapsed_checkpoint'])
        assert cfg.train_cfg.max_epochs == 1 and cfg.default_hooks.checkpoint.interval == 1
        cfg.work_dir = 'ft'
        cfg.merge_from_dict({'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False,
                             'train_dataloader.batch_size': 2, 'train_dataloader.dataset.indices': 4,
                             'val_dataloader.dataset.indices': 2, **ONE_PROCESS_CFG})  # 2 iterations
        runner = Runner.from_cfg(cfg)
        runner.train()
        lr = runner.message_hub.get_scalar('train/lr').data[0]
        assert os.path.isfile(os.path.join('ft', 'epoch_1.pth'))
    # cosine from 0.5 x the lr without warm-up: the first iteration at 0.5 x, the later ones below
    assert lr[0] == pytest.approx(0.5 * original.optim_wrapper.optimizer.lr)
    assert len(lr) > 1 and all(later < lr[0] for later in lr[1:])
    assert not any(isinstance(m, CondConv2d) for m in runner.model.modules())  # the collapsed model was trained


def test_expert_scaling_is_dropped_only_where_no_condconv_is_left(collapse_tool):
    # the lr-matched configs scale the backbone's experts; a fully collapsed backbone has none, and
    # CondConvOptimWrapperConstructor refuses a setting that reaches no expert
    def config():
        return Config(dict(optim_wrapper=dict(paramwise_cfg=dict(
            norm_decay_mult=0., condconv=dict(expert_lr_mult='num_experts', module_prefixes=('backbone', ))))))

    collapsed = torch.nn.ModuleDict(dict(backbone=torch.nn.Conv2d(3, 3, 3), head=CondConv2d(3, 3, 3, num_experts=2)))
    kept = torch.nn.ModuleDict(dict(backbone=CondConv2d(3, 3, 3, num_experts=2)))
    cfg = config()
    collapse_tool.drop_expert_scaling_without_experts(cfg, collapsed)
    assert cfg.optim_wrapper.paramwise_cfg == dict(norm_decay_mult=0.)
    cfg = config()
    collapse_tool.drop_expert_scaling_without_experts(cfg, kept)
    assert cfg.optim_wrapper.paramwise_cfg == config().optim_wrapper.paramwise_cfg


def test_bad_input_gets_a_clear_error(checkpoints, capsys, collapse_tool):
    for option, message in ((['--tol', '-0.1'], '--tol: the collapse tolerance must be a finite number >= 0'),
                            (['--max-images', '1'], '--max-images must be >= 2'),
                            (['--finetune-epochs', '0'], '--finetune-epochs must be >= 1'),
                            (['--finetune-lr-factor', '2'], '--finetune-lr-factor must be in (0, 1]')):
        with pytest.raises(SystemExit):
            collapse_tool.main([str(DEMO_CONDCONV_CONFIG), 'condconv.pth', '--out', 'bad', *option])
        assert message in capsys.readouterr().err
    with working_directory(checkpoints):
        with pytest.raises(ValueError, match=r'static.pth does not match SingleStageDetector(.|\n)*size mismatch'):
            collapse_tool.main([str(DEMO_CONDCONV_CONFIG), 'static.pth', '--out', 'bad'])
    proc = subprocess.run([sys.executable, str(ROOT / 'tools/deployment/collapse_routing.py'), str(DEMO_STATIC_CONFIG),
                           'static.pth', '--out', 'bad'], cwd=checkpoints, capture_output=True, text=True)
    assert proc.returncode == 1
    assert f'error: {DEMO_STATIC_CONFIG}: its model has no CondConv2d layer' in proc.stderr
