# Faster R-CNN with CondConvResNet-50 (8 experts, last stage) + FPN on the demo dataset, from scratch: the model of
# faster-rcnn_condconv8x-r50_fpn_1x_coco.py with the data, schedule and seed of faster-rcnn_r50_fpn_1xb4-12e_demo.py.
_base_ = './faster-rcnn_r50_fpn_1xb4-12e_demo.py'

model = dict(backbone=dict(type='CondConvResNet', num_experts=8))
