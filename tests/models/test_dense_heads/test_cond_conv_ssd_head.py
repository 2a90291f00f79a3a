"""CondConvSSDHead: static form equals mmdet's SSDHead, predicts without mmdet 3.3.0's loss_cls bug, and its
CondConv form routes once per level, trains, and equals the static head when every expert is the static kernel."""
import copy
import math

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from mmdet.models.dense_heads import SSDHead
from mmdet.registry import MODELS
from mmdet.structures import DetDataSample

import condconv_det  # noqa: F401
from condconv_det.layers import CondConv2d

IN_CHANNELS = (8, 16, 8)
HEAD = dict(
    num_classes=3,
    in_channels=IN_CHANNELS,
    use_depthwise=True,
    norm_cfg=dict(type='BN'),
    act_cfg=dict(type='ReLU6'),
    anchor_generator=dict(
        type='SSDAnchorGenerator', scale_major=False, strides=[8, 16, 32], ratios=[[2], [2], [2]],
        min_sizes=[8, 16, 32], max_sizes=[16, 32, 64]),
    bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0] * 4, target_stds=[0.1, 0.1, 0.2, 0.2]),
    train_cfg=ConfigDict(
        assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0., ignore_iof_thr=-1,
                      gt_max_assign_all=False),
        sampler=dict(type='PseudoSampler'), smoothl1_beta=1., allowed_border=-1, pos_weight=-1, neg_pos_ratio=3,
        debug=False),
    test_cfg=ConfigDict(nms_pre=100, nms=dict(type='nms', iou_threshold=0.45), min_bbox_size=0, score_thr=0.02,
                        max_per_img=20))


def _feats(batch=2, size=64):
    torch.manual_seed(0)
    return tuple(torch.randn(batch, c, size // s, size // s) for c, s in zip(IN_CHANNELS, (8, 16, 32)))


def _samples(batch=2, size=64):
    samples = []
    for i in range(batch):
        sample = DetDataSample(metainfo=dict(img_shape=(size, size), ori_shape=(size, size), scale_factor=(1., 1.),
                                             pad_shape=(size, size), batch_input_shape=(size, size)))
        sample.gt_instances = InstanceData(bboxes=torch.tensor([[4., 4., 30., 30.], [20. + i, 10., 60., 50.]]),
                                           labels=torch.tensor([0, 2]))
        samples.append(sample)
    return samples


def _build(**overrides):
    cfg = copy.deepcopy(HEAD)
    cfg.update(overrides)
    return MODELS.build(dict(type='CondConvSSDHead', **cfg))


def test_static_head_is_mmdet_ssd_head():
    ours = _build(num_experts=0)
    theirs = SSDHead(**copy.deepcopy(HEAD))
    ours_sd, theirs_sd = ours.state_dict(), theirs.state_dict()
    assert list(ours_sd) == list(theirs_sd)
    assert all(ours_sd[k].shape == theirs_sd[k].shape for k in ours_sd)
    theirs.load_state_dict(ours_sd)
    ours.eval(), theirs.eval()
    feats = _feats()
    for a, b in zip(ours(feats), theirs(feats)):
        for x, y in zip(a, b):
            torch.testing.assert_close(x, y)


def test_mmdet_ssd_head_has_the_loss_cls_bug_and_ours_does_not():
    feats, samples = _feats(), _samples()
    theirs = SSDHead(**copy.deepcopy(HEAD)).eval()
    with pytest.raises(AttributeError, match='loss_cls'):
        theirs.predict(feats, samples)
    ours = _build(num_experts=0).eval()
    results = ours.predict(feats, samples, rescale=False)
    assert len(results) == 2 and results[0].bboxes.shape[1] == 4
    assert (results[0].scores >= 0.02).all() and (results[0].labels < 3).all()


@pytest.mark.parametrize('condconv_predictors', [False, True])
def test_condconv_head_routes_per_level_and_every_parameter_learns(condconv_predictors):
    head = _build(num_experts=4, condconv_predictors=condconv_predictors)
    condconvs = [m for m in head.modules() if isinstance(m, CondConv2d)]
    per_level = 2 * (2 if condconv_predictors else 1)  # cls + reg towers: depthwise conv (+ predictor)
    assert len(condconvs) == per_level * len(IN_CHANNELS)
    assert all(m.routing is None for m in condconvs)  # routed by the head's per-level routing
    assert len(head.level_routings) == len(IN_CHANNELS)
    head.train()
    losses = head.loss(_feats(), _samples())
    total = sum(v.sum() if torch.is_tensor(v) else sum(x.sum() for x in v) for v in losses.values())
    total.backward()
    missing = [n for n, p in head.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, f'parameters without gradient: {missing}'
    head.eval()
    assert len(head.predict(_feats(), _samples(), rescale=False)) == 2


def test_condconv_head_with_identical_experts_equals_static_head():
    """Every expert = the static kernel, routing = constant 1/E: Σ r_i W_i = W (paper eq. 1), same outputs."""
    experts = 4
    static = _build(num_experts=0).double().eval()
    cond = _build(num_experts=experts, condconv_predictors=True).double().eval()
    static_params = dict(static.named_parameters())
    static_buffers = dict(static.named_buffers())
    with torch.no_grad():
        for name, param in cond.named_parameters():
            if name.startswith('level_routings'):
                # zero routing weights, bias b with E * sigmoid(b) = 1
                param.fill_(0. if param.dim() > 1 else math.log(1. / (experts - 1)))
            elif name in static_params:
                source = static_params[name]
                param.copy_(source.unsqueeze(0).expand_as(param) if param.dim() == source.dim() + 1 else source)
            else:
                raise AssertionError(f'unexpected parameter {name}')
        for name, buf in cond.named_buffers():
            buf.copy_(static_buffers[name])
    feats = tuple(f.double() for f in _feats())
    for a, b in zip(cond(feats), static(feats)):
        for x, y in zip(a, b):
            torch.testing.assert_close(x, y, rtol=1e-10, atol=1e-10)


def test_bad_arguments_name_the_problem():
    with pytest.raises(ValueError, match='num_experts'):
        _build(num_experts=-1)
    with pytest.raises(ValueError, match='condconv_predictors'):
        _build(num_experts=0, condconv_predictors=True)
    with pytest.raises(ValueError, match='conv_cfg'):
        _build(num_experts=2, conv_cfg=dict(type='Conv2d'))
    with pytest.raises(ValueError, match='no convolution to make CondConv'):
        _build(num_experts=2, use_depthwise=False)  # plain SSD: only predictors, which stay static by default
    assert sum(isinstance(m, CondConv2d) for m in _build(num_experts=2, use_depthwise=False,
                                                         condconv_predictors=True).modules()) == 2 * len(IN_CHANNELS)
