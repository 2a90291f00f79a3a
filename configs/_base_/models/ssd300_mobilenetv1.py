# SSD300 with a MobileNetV1 feature extractor, laid out as the TF object-detection API's `ssd_mobilenet_v1_coco`
# (the detection setting of the CondConv paper, Yang et al. 2019, Sec. 5: COCO minival mAP 20.3 static -> 22.4 with
# CondConv): features from the last 512-channel stride-16 block (19x19 at 300 px) and the 1024-channel stride-32 block
# (10x10), four SSD extra layers (1x1 conv to half width, then 3x3 stride-2 conv: 512, 256, 256, 128 channels at
# 5, 3, 2, 1 px), BN + ReLU6 everywhere, box coder stds (0.1, 0.1, 0.2, 0.2), IoU 0.5 matching, 3:1 hard negatives.
# This base is the static model (num_experts=0 in backbone and head); CondConv configs override the experts.
# The plugin is imported by the runtime base (../default_runtime.py).
#
# Approximations of the TF model (mmdet's SSD components are used as they are):
# - predictors are mmdet SSDHead's 3x3 convs (TF: 1x1 convolutional box predictor);
# - classification is mmdet's softmax cross-entropy with hard-negative mining (TF: weighted sigmoid + hard-example
#   miner with NMS at 0.99 IoU);
# - anchors: mmdet's SSDAnchorGenerator with TF's scales (0.35, 0.5, 0.65, 0.8, 0.95 of 300 px on levels 1-5, plus
#   the sqrt(s_k * s_k+1) square, aspect ratios {1, 2, 1/2, 3, 1/3}); on the lowest level mmdet gives 4 anchors
#   (30 px and sqrt(30 * 60) px squares, 30 px at 2 and 1/2) where TF has 3 (0.1 at 1; 0.2 at 2 and 1/2);
# - ImageNet-style mean/std normalisation (TF scales to [-1, 1]).

data_preprocessor = dict(
    type='DetDataPreprocessor', mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True,
    pad_size_divisor=1)
norm_cfg = dict(type='BN', eps=0.001, momentum=0.03)
model = dict(
    type='SingleStageDetector',
    data_preprocessor=data_preprocessor,
    backbone=dict(
        type='CondConvMobileNetV1',
        num_experts=0,
        out_indices=(3, 4),  # layer4 (512 @ /16) and layer5 (1024 @ /32)
        norm_cfg=norm_cfg,
        act_cfg=dict(type='ReLU6'),
        init_cfg=dict(type='TruncNormal', layer='Conv2d', std=0.03)),
    neck=dict(
        type='SSDNeck',
        in_channels=(512, 1024),
        out_channels=(512, 1024, 512, 256, 256, 128),
        level_strides=(2, 2, 2, 2),
        level_paddings=(1, 1, 1, 1),
        l2_norm_scale=None,
        use_depthwise=False,
        norm_cfg=norm_cfg,
        act_cfg=dict(type='ReLU6'),
        init_cfg=dict(type='TruncNormal', layer='Conv2d', std=0.03)),
    bbox_head=dict(
        type='CondConvSSDHead',
        num_experts=0,
        in_channels=(512, 1024, 512, 256, 256, 128),
        num_classes=80,
        stacked_convs=0,
        use_depthwise=False,
        init_cfg=dict(type='Xavier', layer='Conv2d', distribution='uniform', bias=0),
        anchor_generator=dict(
            type='SSDAnchorGenerator',
            scale_major=False,
            strides=[16, 30, 60, 100, 150, 300],
            ratios=[[2], [2, 3], [2, 3], [2, 3], [2, 3], [2, 3]],
            min_sizes=[30, 105, 150, 195, 240, 285],
            max_sizes=[60, 150, 195, 240, 285, 300]),
        bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[.0, .0, .0, .0], target_stds=[0.1, 0.1, 0.2, 0.2])),
    train_cfg=dict(
        assigner=dict(type='MaxIoUAssigner', pos_iou_thr=0.5, neg_iou_thr=0.5, min_pos_iou=0., ignore_iof_thr=-1,
                      gt_max_assign_all=False),
        sampler=dict(type='PseudoSampler'),
        smoothl1_beta=1.,
        allowed_border=-1,
        pos_weight=-1,
        neg_pos_ratio=3,
        debug=False),
    test_cfg=dict(nms_pre=1000, nms=dict(type='nms', iou_threshold=0.6), min_bbox_size=0, score_thr=0.02,
                  max_per_img=100))
