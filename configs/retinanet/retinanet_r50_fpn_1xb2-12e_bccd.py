# Static RetinaNet ResNet-50 + FPN on BCCD (3 classes, 512x384), the static twin of the CondConv BCCD RetinaNets:
# mmdet's retinanet_r50_fpn model (ImageNet torchvision://resnet50 backbone, frozen stem + stage 1, BN in eval) with
# mmdet's 1x recipe sized for CPU: 12 epochs of the 205 train images, batch 2, lr 0.01 x 2/16 (linear scaling).
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py', '../_base_/datasets/bccd_detection_512x384.py',
    '../_base_/schedules/cpu_1x_12e.py', 'mmdet::_base_/default_runtime.py'
]

custom_imports = dict(imports=['condconv_det'], allow_failed_imports=False)

model = dict(bbox_head=dict(num_classes=3))
optim_wrapper = dict(optimizer=dict(lr=0.00125))
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=4, max_keep_ckpts=2, save_best='coco/bbox_mAP'))
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)
auto_scale_lr = dict(enable=False, base_batch_size=2)
