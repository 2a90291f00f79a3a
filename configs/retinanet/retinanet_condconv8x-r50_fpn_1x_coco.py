# RetinaNet with a CondConv ResNet-50 (8 experts) + FPN on COCO, mmdet's 1x schedule: mmdet's
# retinanet_r50_fpn_1x_coco.py (36.5 box AP reported by mmdet for the static model) with the backbone swapped for
# CondConvResNet (default placement: the last stage, conv1/conv2/conv3 and the projection shortcut of each block
# sharing one routing vector per block; the paper's ResNet-50 placement, +120M MADDs at 224 px).
# Initialisation: mmdet's torchvision://resnet50 init_cfg loads the static stages; the CondConv stage (expert
# dimension, so a shape mismatch that mmengine reports and skips) keeps CondConv2d's own init. For a
# function-preserving ImageNet start, upcycle the checkpoint with tools/model_converters/upcycle_static_to_condconv.py
# and point model.backbone.init_cfg at it.
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'

custom_imports = dict(imports=['condconv_det'], allow_failed_imports=False)

model = dict(backbone=dict(type='CondConvResNet', num_experts=8))
custom_hooks = [dict(type='CheckInvalidLossHook', interval=50, priority='VERY_LOW'), dict(type='TrainBatchCheckHook')]
