# BCCD blood-cell detection (MIT licence; 364 640x480 images; classes RBC, WBC, Platelets), converted from its VOC
# layout to COCO with
#   python tools/dataset_converters/voc2coco.py ../shared/data/bccd/BCCD --out data/bccd --classes RBC WBC Platelets
# (writes data/bccd/annotations/instances_{train,val,test,trainval}.json and links data/bccd/JPEGImages).
# Splits: train 205 / val 87 / test 72 images. Training on `train`, validation on `val`, testing on `test`.
dataset_type = 'CocoDataset'
data_root = 'data/bccd/'
metainfo = dict(classes=('RBC', 'WBC', 'Platelets'), palette=[(220, 20, 60), (30, 144, 255), (255, 215, 0)])
input_size = 320
backend_args = None

train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='PhotoMetricDistortion', brightness_delta=32, contrast_range=(0.5, 1.5), saturation_range=(0.5, 1.5),
         hue_delta=18),
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
    batch_size=8,
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
        data_prefix=dict(img='JPEGImages/'),
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
        data_prefix=dict(img='JPEGImages/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
# The test split: the validation loader with the test annotations.
test_dataloader = dict(
    val_dataloader, dataset=dict(val_dataloader['dataset'], ann_file='annotations/instances_test.json'))
val_evaluator = dict(type='CocoMetric', ann_file=data_root + 'annotations/instances_val.json', metric='bbox',
                     format_only=False, backend_args=backend_args)
test_evaluator = dict(val_evaluator, ann_file=data_root + 'annotations/instances_test.json')
# The configs' learning rates are for this batch size (tools/train.py --auto-scale-lr rescales them to another).
auto_scale_lr = dict(enable=False, base_batch_size=8)
