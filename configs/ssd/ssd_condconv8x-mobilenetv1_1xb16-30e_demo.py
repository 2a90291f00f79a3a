# CondConv SSD-MobileNetV1 (8 experts in the backbone and the SSD extra layers, static predictors, as in
# ssd300_condconv8x-mobilenetv1_8xb24-600e_coco.py) on the demo dataset: same data, schedule and seed as
# ssd_mobilenetv1_1xb16-30e_demo.py.
_base_ = './ssd_mobilenetv1_1xb16-30e_demo.py'

model = dict(
    backbone=dict(num_experts=8),
    neck=dict(conv_cfg=dict(type='CondConv2d', num_experts=8)))
