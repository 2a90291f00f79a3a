# Static Faster R-CNN ResNet-50 + FPN on the generated demo dataset (3 shape classes, 160x160), from scratch so that
# it runs offline on CPU (no frozen stages, BN trained): the static twin of
# faster-rcnn_condconv8x-r50_fpn_1xb4-12e_demo.py; mmdet's 1x recipe sized for CPU (12 epochs, batch 4,
# lr 0.02 x 4/16).
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py', '../_base_/datasets/demo_shapes.py',
    '../_base_/schedules/cpu_1x_12e.py', '../_base_/cpu_runtime.py'
]

model = dict(
    backbone=dict(frozen_stages=-1, norm_eval=False, init_cfg=None),
    roi_head=dict(bbox_head=dict(num_classes=3)))
train_dataloader = dict(batch_size=4)
optim_wrapper = dict(optimizer=dict(lr=0.005))
auto_scale_lr = dict(base_batch_size=4)
