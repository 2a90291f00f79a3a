# Static SSDLite-MobileNetV2 320x320 on BCCD (3 classes), a CPU-sized schedule: 24 epochs of the 205 train images,
# batch 8. Trained from scratch unless `load_from` / the backbone's init_cfg point at ImageNet weights (see README).
_base_ = [
    '../_base_/models/ssdlite_mobilenetv2.py', '../_base_/datasets/bccd_detection.py',
    '../_base_/schedules/cpu_short.py', 'mmdet::_base_/default_runtime.py'
]

model = dict(bbox_head=dict(num_classes=3))
max_epochs = 24
train_cfg = dict(max_epochs=max_epochs, val_interval=6)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', begin=0, T_max=max_epochs, end=max_epochs, by_epoch=True, eta_min=0),
]
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=6, max_keep_ckpts=2, save_best='coco/bbox_mAP'))
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)
auto_scale_lr = dict(enable=False, base_batch_size=8)
