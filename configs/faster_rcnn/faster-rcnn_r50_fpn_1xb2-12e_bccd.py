# Static Faster R-CNN ResNet-50 + FPN on BCCD (3 classes, 512x384), the static twin of
# faster-rcnn_condconv8x-r50_fpn_1xb2-12e_bccd.py: mmdet's faster-rcnn_r50_fpn model (ImageNet torchvision://resnet50
# backbone) with mmdet's 1x recipe sized for CPU: 12 epochs of the 205 train images, batch 2, lr 0.02 x 2/16.
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py', '../_base_/datasets/bccd_detection_512x384.py',
    '../_base_/schedules/cpu_1x_12e.py', '../_base_/cpu_runtime.py'
]

model = dict(roi_head=dict(bbox_head=dict(num_classes=3)))
optim_wrapper = dict(optimizer=dict(lr=0.0025))
