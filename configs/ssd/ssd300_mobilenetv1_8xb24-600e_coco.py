# Static SSD300-MobileNetV1 on COCO: the CondConv paper's detection baseline (Yang et al. 2019, Sec. 5; COCO minival
# mAP 20.3 reported for the TF object-detection API model), built from mmdet's SSDNeck + the plugin's CondConvSSDHead
# (num_experts=0) on CondConvMobileNetV1(num_experts=0) -- see ../_base_/models/ssd300_mobilenetv1.py for the layout
# and what is approximated.
# Training differs from the paper, which fine-tunes an ImageNet-pretrained MobileNetV1 (RMSProp, batch 24, 200k
# steps): no MobileNetV1 ImageNet checkpoint is available here, so this trains from scratch with mmdet's SSDLite
# recipe (8 GPUs x 24, SGD lr 0.015, cosine, 120 epochs of a 5x repeated train2017 = 600 effective epochs, Expand +
# MinIoURandomCrop). To start from ImageNet weights set
# model.backbone.init_cfg=dict(type='Pretrained', checkpoint=...) with mmdet-style MobileNetV1 keys.
_base_ = [
    '../_base_/models/ssd300_mobilenetv1.py', 'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/schedules/schedule_1x.py', '../_base_/default_runtime.py'
]

input_size = 300
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Expand', mean=[123.675, 116.28, 103.53], to_rgb=True, ratio_range=(1, 4)),
    dict(type='MinIoURandomCrop', min_ious=(0.1, 0.3, 0.5, 0.7, 0.9), min_crop_size=0.3),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion', brightness_delta=32, contrast_range=(0.5, 1.5), saturation_range=(0.5, 1.5),
         hue_delta=18),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(
    batch_size=24,
    num_workers=4,
    batch_sampler=dict(type='FillLastBatchSampler'),  # no batch of 1 image at the 1x1 BatchNorm of the extra layers
    dataset=dict(
        _delete_=True,
        type='RepeatDataset',
        times=5,
        dataset=dict(
            type={{_base_.dataset_type}},
            data_root={{_base_.data_root}},
            ann_file='annotations/instances_train2017.json',
            data_prefix=dict(img='train2017/'),
            filter_cfg=dict(filter_empty_gt=True, min_size=32),
            pipeline=train_pipeline)))
val_dataloader = dict(batch_size=8, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_epochs = 120
train_cfg = dict(max_epochs=max_epochs, val_interval=5)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=500),
    dict(type='CosineAnnealingLR', begin=0, T_max=max_epochs, end=max_epochs, by_epoch=True, eta_min=0)
]
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.015, momentum=0.9, weight_decay=4.0e-5))
env_cfg = dict(cudnn_benchmark=True)
# base_batch_size = (8 GPUs) x (24 samples per GPU)
auto_scale_lr = dict(base_batch_size=192)
