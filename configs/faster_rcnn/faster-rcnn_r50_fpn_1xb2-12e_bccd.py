# Static Faster R-CNN ResNet-50 + FPN on BCCD (3 classes, 512x384), the static twin of
# faster-rcnn_condconv-r50-8e_fpn_1xb2-12e_bccd.py: mmdet's faster-rcnn_r50_fpn model (ImageNet torchvision://resnet50
# backbone) with mmdet's 1x recipe sized for CPU: 12 epochs of the 205 train images, batch 2, lr 0.02 x 2/16.
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py', '../_base_/datasets/bccd_detection_512x384.py',
    '../_base_/schedules/cpu_1x_12e.py', 'mmdet::_base_/default_runtime.py'
]

custom_imports = dict(imports=['condconv_det'], allow_failed_imports=False)

model = dict(roi_head=dict(bbox_head=dict(num_classes=3)))
optim_wrapper = dict(optimizer=dict(lr=0.0025))
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=4, max_keep_ckpts=2, save_best='coco/bbox_mAP'))
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)
auto_scale_lr = dict(enable=False, base_batch_size=2)
