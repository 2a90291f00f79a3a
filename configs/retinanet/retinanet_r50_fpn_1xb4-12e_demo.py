# Static RetinaNet ResNet-50 + FPN on the generated demo dataset (3 shape classes, 160x160), from scratch so that it
# runs offline on CPU (no frozen stages, BN trained): the static twin of the CondConv demo RetinaNets; mmdet's 1x
# recipe sized for CPU (12 epochs, batch 4, lr 0.01 x 4/16).
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py', '../_base_/datasets/demo_shapes.py',
    '../_base_/schedules/cpu_1x_12e.py', '../_base_/cpu_runtime.py'
]

model = dict(
    backbone=dict(frozen_stages=-1, norm_eval=False, init_cfg=None),
    bbox_head=dict(num_classes=3))
train_dataloader = dict(batch_size=4)
optim_wrapper = dict(optimizer=dict(lr=0.0025))
auto_scale_lr = dict(base_batch_size=4)
