# RetinaNet on the demo dataset with a stock ResNet-50 and CondConv (4 experts) only in FPN and the RetinaHead towers
# via `conv_cfg` (as retinanet_r50_condconv4x-fpn-head_1x_coco.py); data, schedule and seed of
# retinanet_r50_fpn_1xb4-12e_demo.py.
_base_ = './retinanet_r50_fpn_1xb4-12e_demo.py'

cond_conv_cfg = dict(type='CondConv2d', num_experts=4)
model = dict(neck=dict(conv_cfg=cond_conv_cfg), bbox_head=dict(conv_cfg=cond_conv_cfg))
