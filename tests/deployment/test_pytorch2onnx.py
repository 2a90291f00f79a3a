"""tools/deployment/pytorch2onnx.py: the CondConv SSDLite exports with a symbolic batch axis through both of
torch.onnx's exporters (dynamo, the default, and TorchScript) and onnxruntime matches PyTorch on real (demo) images at
batch 1 and 3; the backbone alone exports at a fixed batch with the default exporter."""
from pathlib import Path

import onnx
import pytest
import torch
from mmdet.registry import MODELS
from mmdet.utils import register_all_modules
from mmengine.config import Config

ROOT = Path(__file__).resolve().parents[2]
DEMO_CONDCONV_CONFIG = ROOT / 'configs/ssdlite/ssdlite_condconv8x-mobilenetv2_1xb16-30e_demo.py'


@pytest.fixture(scope='module')
def export_tool(load_tool):
    """tools/deployment/pytorch2onnx.py as a module."""
    return load_tool('tools/deployment/pytorch2onnx.py')


@pytest.fixture(scope='module')
def demo_and_checkpoint(demo_work):
    """The deployment tests' demo folder (conftest.py) with a randomly initialised CondConv SSDLite checkpoint."""
    register_all_modules(init_default_scope=True)
    torch.manual_seed(0)
    model = MODELS.build(Config.fromfile(str(DEMO_CONDCONV_CONFIG)).model)
    checkpoint = demo_work / 'random.pth'
    torch.save(dict(state_dict=model.state_dict()), checkpoint)
    return demo_work, checkpoint


def conv_weights_are_static(model: onnx.ModelProto) -> bool:
    """Every ONNX Conv takes its weight from an initializer or a Constant (no runtime kernels)."""
    static = {init.name for init in model.graph.initializer}
    static |= {out for node in model.graph.node if node.op_type == 'Constant' for out in node.output}
    return all(node.input[1] in static for node in model.graph.node if node.op_type == 'Conv')


@pytest.mark.parametrize('exporter', ['dynamo', 'torchscript'])
def test_condconv_ssdlite_exports_with_dynamic_batch_and_matches_pytorch_at_batch_1_and_3(demo_and_checkpoint,
                                                                                             monkeypatch, exporter,
                                                                                             export_tool):
    work, checkpoint = demo_and_checkpoint
    monkeypatch.chdir(work)
    images = sorted(str(p) for p in (work / 'data/demo/val').glob('*.jpg'))[:3]
    out = work / f'ssdlite_condconv_{exporter}.onnx'
    result = export_tool.main([str(DEMO_CONDCONV_CONFIG), str(checkpoint), '--out', str(out), '--dynamic-batch',
                               '--exporter', exporter, '--verify', '--images', *images])
    assert result['exporter'] == exporter
    assert [check['batch'] for check in result['checks']] == [1, 3]
    assert all(check['within'] and check['max_diff_over_max_abs'] < 1e-3 for check in result['checks'])
    assert set(result['traced_strategies']) == {'bmm_1x1', 'unfold_bmm'}
    model = onnx.load(str(out))
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_param == 'batch'
    assert [o.name for o in model.graph.output] == [f'cls_score_{i}' for i in range(6)] + \
                                                   [f'bbox_pred_{i}' for i in range(6)]
    assert conv_weights_are_static(model)


def test_backbone_alone_exports_at_a_fixed_batch(demo_and_checkpoint, monkeypatch, export_tool):
    work, checkpoint = demo_and_checkpoint
    monkeypatch.chdir(work)
    out = work / 'backbone.onnx'
    result = export_tool.main([str(DEMO_CONDCONV_CONFIG), str(checkpoint), '--out', str(out), '--backbone-only',
                               '--batch-size', '2', '--shape', '96', '96'])
    assert result['exporter'] == 'dynamo'  # torch.onnx.export's default
    model = onnx.load(str(out))
    assert result['outputs'] == ['feat_0', 'feat_1']
    assert model.graph.input[0].type.tensor_type.shape.dim[0].dim_value == 2
    import numpy as np
    import onnxruntime as ort
    detector = MODELS.build(Config.fromfile(str(DEMO_CONDCONV_CONFIG)).model)
    detector.load_state_dict(torch.load(checkpoint)['state_dict'])
    inputs = torch.randn(2, 3, 96, 96)
    check = export_tool.compare_with_onnxruntime(export_tool.BackboneOutputs(detector.backbone).eval(), str(out),
                                                 inputs, 1e-4, 1e-3)
    assert check['within'], check
    with pytest.raises(Exception):  # fixed batch: another batch size is rejected
        ort.InferenceSession(str(out)).run(None, {'input': np.zeros((3, 3, 96, 96), np.float32)})
