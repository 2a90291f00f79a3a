# RetinaNet on BCCD with a stock ResNet-50 and CondConv (4 experts) only in FPN and the RetinaHead towers, set through
# `conv_cfg` (as retinanet_r50_condconv4x-fpn-head_1x_coco.py); same data, schedule, seed and ImageNet init as the
# static retinanet_r50_fpn_1xb2-12e_bccd.py.
_base_ = './retinanet_r50_fpn_1xb2-12e_bccd.py'

cond_conv_cfg = dict(type='CondConv2d', num_experts=4)
model = dict(neck=dict(conv_cfg=cond_conv_cfg), bbox_head=dict(conv_cfg=cond_conv_cfg))
