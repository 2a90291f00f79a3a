# RetinaNet with CondConvResNet-50 (8 experts, last stage) + FPN on BCCD: the model of
# retinanet_condconv8x-r50_fpn_1x_coco.py with the same data, schedule, seed and ImageNet init as the static
# retinanet_r50_fpn_1xb2-12e_bccd.py.
_base_ = './retinanet_r50_fpn_1xb2-12e_bccd.py'

model = dict(backbone=dict(type='CondConvResNet', num_experts=8))
