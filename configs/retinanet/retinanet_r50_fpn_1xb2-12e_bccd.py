# Static RetinaNet ResNet-50 + FPN on BCCD (3 classes, 512x384), the static twin of the CondConv BCCD RetinaNets:
# mmdet's retinanet_r50_fpn model (ImageNet torchvision://resnet50 backbone, frozen stem + stage 1, BN in eval) with
# mmdet's 1x recipe sized for CPU: 12 epochs of the 205 train images, batch 2, lr 0.01 x 2/16 (linear scaling).
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py', '../_base_/datasets/bccd_detection_512x384.py',
    '../_base_/schedules/cpu_1x_12e.py', '../_base_/cpu_runtime.py'
]

model = dict(bbox_head=dict(num_classes=3))
optim_wrapper = dict(optimizer=dict(lr=0.00125))
