# CondConv SSDLite-MobileNetV2 (8 experts in backbone and head towers, as in
# ssdlite_condconv8x-mobilenetv2-scratch_8xb24-600e_coco.py) at 320x320 on BCCD, from scratch: same data, schedule
# and seed as the static ssdlite_mobilenetv2_1xb8-24e_bccd.py.
_base_ = './ssdlite_mobilenetv2_1xb8-24e_bccd.py'

model = dict(
    backbone=dict(type='CondConvMobileNetV2', num_experts=8),
    bbox_head=dict(num_experts=8))
