#!/usr/bin/env python
"""Export a CondConv detector (or its backbone alone) to ONNX and check it against PyTorch with onnxruntime.

    python tools/deployment/pytorch2onnx.py CONFIG CHECKPOINT [--out model.onnx] [--shape H W] [--batch-size B]
        [--dynamic-batch] [--backbone-only] [--exporter dynamo|torchscript] [--opset N]
        [--verify [--images IMG ...]] [--atol 1e-4] [--rtol 1e-3] [--cfg-options k=v ...]

Graph: input ``input`` is the *preprocessed* batch ``(B, 3, H, W)`` (what the config's ``data_preprocessor``
produces: BGR->RGB, mean/std normalised), as in mmdeploy. Outputs are tensors only: the head's raw maps
``cls_score_<l>`` ``(B, A_l * (num_classes + 1), H_l, W_l)`` and ``bbox_pred_<l>`` ``(B, A_l * 4, H_l, W_l)`` per
level (anchors, decoding and NMS are left to the caller), or ``feat_<i>`` for ``--backbone-only``. With
``--dynamic-batch`` axis 0 of every tensor is symbolic (``batch``); otherwise the file is for ``--batch-size``.

Exporters (``--exporter``): ``dynamo`` (default, as ``torch.onnx.export``'s own default in torch 2.13; it needs the
``onnxscript`` package, pinned in requirements/constraints.txt) captures the model with ``torch.export`` and
translates the graph with onnxscript; ``torchscript`` (``dynamo=False``) traces it with the TorchScript-based
exporter. Both give the same graph semantics and the same onnxruntime parity (tests/deployment/test_pytorch2onnx.py
runs the detector through both at batch 1 and 3); the dynamo export takes longer (tens of seconds for SSDLite on a
CPU core against a few). With ``--dynamic-batch`` the model is traced at batch 2 (``torch.export`` would specialise a
traced batch of 1) and the batch axis is symbolic (dynamo: ``dynamic_shapes`` with ``torch.export.Dim``).

CondConv strategy when exporting: while either exporter traces, ``CondConv2d(strategy='auto')`` knows it
(``torch.onnx.is_in_onnx_export()`` for TorchScript, ``torch.compiler.is_exporting()`` for ``torch.export``) and
selects (``condconv_det.layers.strategy_dispatch.select_strategy(..., exporting=True)``) ``bmm_1x1`` for 1×1 kernels
and ``unfold_bmm`` (im2col + batched matmul) for the others. Both are exact and express each example's mixed kernel
``sum_i r_i W_i`` (eq. 1) as a ``MatMul`` of the routing with the expert bank followed by a batched ``MatMul`` with the
input, whose shapes follow the symbolic batch, and no convolution has runtime weights (which TensorRT rejects). The
faster training strategies do not export: ``grouped`` bakes the batch into a ``Conv`` ``group`` attribute and
``mixed_single`` assumes a batch of one (the official code's export limitation). Layers forced to a non-exportable
strategy are switched to ``'auto'`` for the export (reported). Nothing may compare a batch-dependent size while
``torch.export`` traces (each comparison becomes a guard on the symbolic batch, e.g. ``batch < 512/25``, which the
exporter refuses): ``select_strategy`` therefore tests "exporting" first.

``--verify`` runs onnxruntime (CPU) and PyTorch on real images (``--images``, default the first images of the
config's test split) through the config's test pipeline: at batch 1 and at the batch of all images with
``--dynamic-batch``, else at ``--batch-size``. It prints the max abs diff and fails unless
``|onnx - torch| <= atol + rtol * max|torch|`` for every element (max over each output tensor).
"""
import argparse
import copy
import os
import os.path as osp
import sys
import warnings
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from torch import Tensor

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', '..'))

EXPORTABLE_STRATEGIES = ('auto', 'bmm_1x1', 'unfold_bmm')
EXPORTERS = ('dynamo', 'torchscript')
DEFAULT_OPSET = dict(dynamo=18, torchscript=17)


class DetectorRawOutputs(nn.Module):
    """``detector._forward`` (backbone, neck, head) with the per-level lists flattened into a tuple of tensors:
    every ``cls_score_<l>`` then every ``bbox_pred_<l>``."""

    def __init__(self, detector: nn.Module) -> None:
        super().__init__()
        self.detector = detector

    def forward(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        head_outputs = self.detector._forward(inputs)
        return tuple(tensor for level_list in head_outputs for tensor in level_list)

    def output_names(self, num_levels: int) -> List[str]:
        return [f'cls_score_{level}' for level in range(num_levels)] + \
               [f'bbox_pred_{level}' for level in range(num_levels)]


class BackboneOutputs(nn.Module):
    """The backbone alone: its tuple of feature maps ``feat_<i>``."""

    def __init__(self, backbone: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone

    def forward(self, inputs: Tensor) -> Tuple[Tensor, ...]:
        outputs = self.backbone(inputs)
        return tuple(outputs) if isinstance(outputs, (tuple, list)) else (outputs, )

    def output_names(self, num_outputs: int) -> List[str]:
        return [f'feat_{index}' for index in range(num_outputs)]


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='Export a CondConv detector or backbone to ONNX')
    parser.add_argument('config', help='model config')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', help='ONNX file (default work_dirs/onnx/<config name>[_backbone].onnx)')
    parser.add_argument('--shape', type=int, nargs=2, metavar=('H', 'W'),
                        help="input size (default: the test pipeline's fixed Resize scale)")
    parser.add_argument('--batch-size', type=int, default=1, help='batch of the traced input (fixed export batch)')
    parser.add_argument('--dynamic-batch', action='store_true', help='symbolic batch axis')
    parser.add_argument('--backbone-only', action='store_true', help='export the backbone alone')
    parser.add_argument('--exporter', choices=EXPORTERS, default='dynamo',
                        help="torch.onnx's exporter: dynamo (torch.export + onnxscript; the default) or torchscript")
    parser.add_argument('--opset', type=int, default=None,
                        help='ONNX opset (default: 18 for dynamo, 17 for torchscript)')
    parser.add_argument('--verify', action='store_true', help='compare onnxruntime with PyTorch on real images')
    parser.add_argument('--images', nargs='+', help='images for --verify (default: from the test split)')
    parser.add_argument('--num-images', type=int, default=3, help='test-split images for --verify without --images')
    parser.add_argument('--atol', type=float, default=1e-4, help='absolute tolerance of --verify')
    parser.add_argument('--rtol', type=float, default=1e-3, help='relative tolerance of --verify')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config settings (k=v)')
    return parser.parse_args(argv)


def test_pipeline_cfg(cfg: Any) -> List[Dict]:
    """The test pipeline of the config without annotation loading (inference on bare images)."""
    dataset_cfg = cfg.test_dataloader.dataset
    while 'pipeline' not in dataset_cfg and 'dataset' in dataset_cfg:
        dataset_cfg = dataset_cfg.dataset
    return [copy.deepcopy(step) for step in dataset_cfg.pipeline if 'LoadAnnotations' not in str(step['type'])]


def infer_input_shape(cfg: Any) -> Tuple[int, int]:
    """``(H, W)`` of a test pipeline that resizes to a fixed size (``Resize(scale=(w, h), keep_ratio=False)``)."""
    for step in test_pipeline_cfg(cfg):
        if 'Resize' in str(step['type']) and not step.get('keep_ratio', False) and 'scale' in step:
            scale = step['scale']
            scale = (scale, scale) if isinstance(scale, int) else scale
            return int(scale[1]), int(scale[0])
    raise ValueError('cannot infer the input size from the test pipeline (no fixed-size Resize): pass --shape H W')


def default_images(cfg: Any, count: int) -> List[str]:
    """Paths of the first ``count`` images of the config's test split."""
    from mmdet.registry import DATASETS
    dataset_cfg = copy.deepcopy(cfg.test_dataloader.dataset)
    dataset_cfg['pipeline'] = []
    dataset = DATASETS.build(dataset_cfg)
    return [dataset.get_data_info(index)['img_path'] for index in range(min(count, len(dataset)))]


def preprocess_images(model: nn.Module, cfg: Any, paths: Sequence[str]) -> Tensor:
    """Images through the test pipeline and the model's ``data_preprocessor``: the ``(B, 3, H, W)`` network input."""
    from mmcv.transforms import Compose
    pipeline = Compose(test_pipeline_cfg(cfg))
    packed = [pipeline(dict(img_path=path, img_id=index)) for index, path in enumerate(paths)]
    batch = dict(inputs=[p['inputs'] for p in packed], data_samples=[p['data_samples'] for p in packed])
    with torch.no_grad():
        return model.data_preprocessor(batch, False)['inputs']


def make_exportable(model: nn.Module) -> Dict[str, int]:
    """Switch CondConv layers forced to a non-exportable strategy to ``'auto'``; count the strategies traced."""
    from condconv_det.layers import CondConv2d, select_strategy
    traced: Dict[str, int] = {}
    for name, module in model.named_modules():
        if not isinstance(module, CondConv2d):
            continue
        if module.strategy not in EXPORTABLE_STRATEGIES:
            print(f'{name}: strategy {module.strategy!r} does not export with a symbolic batch; using auto')
            module.strategy = 'auto'
        strategy = module.strategy
        if strategy == 'auto':
            strategy = select_strategy(1, module.kernel_size, module.groups, module.in_channels, module.out_channels,
                                       'cpu', False, exporting=True)
        traced[strategy] = traced.get(strategy, 0) + 1
    return traced


def export_onnx(wrapper: nn.Module, example: Tensor, out: str, output_names: List[str], dynamic_batch: bool,
                opset: int, exporter: str = 'dynamo') -> None:
    """Export with torch.onnx's ``dynamo`` or ``torchscript`` exporter (see the module docstring), then
    ``onnx.checker``."""
    import onnx
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with warnings.catch_warnings(), torch.no_grad():
        if exporter == 'dynamo':
            shapes = ({0: torch.export.Dim('batch', min=1, max=1024)}, ) if dynamic_batch else None
            torch.onnx.export(wrapper, (example, ), out, dynamo=True, input_names=['input'], output_names=output_names,
                              dynamic_shapes=shapes, opset_version=opset, verbose=False)
        else:
            warnings.simplefilter('ignore', category=torch.jit.TracerWarning)  # CondConv's channel-count checks
            warnings.simplefilter('ignore', category=DeprecationWarning)  # "legacy exporter": chosen on purpose
            axes = {name: {0: 'batch'} for name in ['input', *output_names]} if dynamic_batch else None
            torch.onnx.export(wrapper, (example, ), out, dynamo=False, input_names=['input'],
                              output_names=output_names, dynamic_axes=axes, opset_version=opset,
                              do_constant_folding=True)
    onnx.checker.check_model(onnx.load(out))


def compare_with_onnxruntime(wrapper: nn.Module, out: str, inputs: Tensor, atol: float,
                             rtol: float) -> Dict[str, float]:
    """Run both on ``inputs``; max abs diff, max diff relative to the output's largest magnitude, and whether
    ``|onnx - torch| <= atol + rtol * max|torch|`` holds for every element of every output (the scale is the
    output tensor's largest magnitude: float32 re-association errors grow with the activations, not per element)."""
    import numpy as np
    import onnxruntime as ort
    session = ort.InferenceSession(out, providers=['CPUExecutionProvider'])
    with torch.no_grad():
        expected = [t.numpy() for t in wrapper(inputs)]
    actual = session.run(None, {'input': inputs.numpy()})
    max_abs, max_scaled, within = 0.0, 0.0, True
    for ours, theirs in zip(actual, expected):
        if ours.shape != theirs.shape:
            raise AssertionError(f'onnxruntime output shape {ours.shape} != PyTorch {theirs.shape}')
        diff = np.abs(ours - theirs)
        max_abs = max(max_abs, float(diff.max()))
        max_scaled = max(max_scaled, float(diff.max() / max(np.abs(theirs).max(), 1e-12)))
        within = within and bool((diff <= atol + rtol * np.abs(theirs).max()).all())
    return dict(batch=int(inputs.shape[0]), max_abs_diff=max_abs, max_diff_over_max_abs=max_scaled, within=within)


def main(argv: Optional[List[str]] = None) -> Dict[str, Any]:
    args = parse_args(argv)
    import condconv_det  # noqa: F401  (registers the plugin)
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    from mmengine.config import Config
    from mmengine.runner import load_checkpoint

    register_all_modules(init_default_scope=True)
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    model = MODELS.build(cfg.model)
    load_checkpoint(model, args.checkpoint, map_location='cpu')
    model.eval()
    wrapper = BackboneOutputs(model.backbone) if args.backbone_only else DetectorRawOutputs(model)
    wrapper.eval()
    traced = make_exportable(wrapper)
    height, width = args.shape if args.shape else infer_input_shape(cfg)
    example = torch.randn(max(args.batch_size, 2) if args.dynamic_batch else args.batch_size, 3, height, width)
    with torch.no_grad():
        num_outputs = len(wrapper(example))
    names = wrapper.output_names(num_outputs if args.backbone_only else num_outputs // 2)
    stem = osp.splitext(osp.basename(args.config))[0] + ('_backbone' if args.backbone_only else '')
    out = args.out or osp.join('work_dirs', 'onnx', stem + '.onnx')
    opset = args.opset or DEFAULT_OPSET[args.exporter]
    export_onnx(wrapper, example, out, names, args.dynamic_batch, opset, args.exporter)
    batch_text = 'dynamic batch' if args.dynamic_batch else f'batch {args.batch_size}'
    print(f'exported {out} with the {args.exporter} exporter (opset {opset}, {batch_text}, input 3x{height}x{width}, '
          f'outputs {names}); CondConv layers traced with {traced or "no CondConv layers"}')
    result: Dict[str, Any] = dict(out=out, outputs=names, traced_strategies=traced, exporter=args.exporter, checks=[])
    if args.verify:
        paths = args.images or default_images(cfg, max(args.num_images, args.batch_size))
        inputs = preprocess_images(model, cfg, paths)
        if tuple(inputs.shape[2:]) != (height, width):
            raise ValueError(f'the images preprocess to {tuple(inputs.shape[2:])}, the export is {(height, width)}: '
                             'pass --shape matching the test pipeline')
        if args.dynamic_batch:
            batches = [inputs[:1], inputs] if inputs.shape[0] > 1 else [inputs]
        else:
            repeats = -(-args.batch_size // inputs.shape[0])
            batches = [inputs.repeat(repeats, 1, 1, 1)[:args.batch_size]]
        for batch in batches:
            check = compare_with_onnxruntime(wrapper, out, batch, args.atol, args.rtol)
            result['checks'].append(check)
            print(f"onnxruntime vs PyTorch, batch {check['batch']} ({len(paths)} real images): max abs diff "
                  f"{check['max_abs_diff']:.3g} (max diff / max |output| {check['max_diff_over_max_abs']:.3g}); "
                  f"tolerance atol={args.atol:g} rtol={args.rtol:g}: {'OK' if check['within'] else 'FAILED'}")
        if not all(check['within'] for check in result['checks']):
            raise AssertionError('onnxruntime outputs differ from PyTorch beyond the tolerance')
    return result


if __name__ == '__main__':
    main()
