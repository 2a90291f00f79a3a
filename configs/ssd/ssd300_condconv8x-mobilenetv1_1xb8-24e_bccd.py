# CondConv SSD300-MobileNetV1 (8 experts in the backbone and the SSD extra layers, static predictors, as in
# ssd300_condconv8x-mobilenetv1_8xb24-600e_coco.py) on BCCD: same data, schedule and seed as
# ssd300_mobilenetv1_1xb8-24e_bccd.py.
_base_ = './ssd300_mobilenetv1_1xb8-24e_bccd.py'

model = dict(
    backbone=dict(num_experts=8),
    neck=dict(conv_cfg=dict(type='CondConv2d', num_experts=8)))
