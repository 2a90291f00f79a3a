# The demo dataset: 3 shape classes on cluttered 160x160 images, generated deterministically by
# `python tools/misc/make_demo_dataset.py` into data/demo/ (COCO format; 240 train / 60 val images by default).
dataset_type = 'CocoDataset'
data_root = 'data/demo/'
metainfo = dict(classes=('circle', 'triangle', 'rectangle'), palette=[(220, 20, 60), (0, 128, 0), (0, 0, 192)])
input_size = 160
backend_args = None

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(input_size, input_size), keep_ratio=False),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='PackDetInputs', meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor')),
]
train_dataloader = dict(
    batch_size=16,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    # Every batch full (FillLastBatchSampler): the last is completed with images from the start of the epoch, so no
    # batch of 1 image reaches BatchNorm at 1x1 (SSD/SSDLite) and any dataset size trains.
    batch_sampler=dict(type='FillLastBatchSampler'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        filter_cfg=dict(filter_empty_gt=True, min_size=0),
        pipeline=train_pipeline,
        backend_args=backend_args))
val_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        metainfo=metainfo,
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
test_dataloader = val_dataloader
val_evaluator = dict(type='CocoMetric', ann_file=data_root + 'annotations/instances_val.json', metric='bbox',
                     format_only=False, backend_args=backend_args)
test_evaluator = val_evaluator
# The configs' learning rates are for this batch size (tools/train.py --auto-scale-lr rescales them to another).
auto_scale_lr = dict(enable=False, base_batch_size=16)
