# Faster R-CNN with a CondConv ResNet-50 (8 experts) + FPN on COCO, mmdet's 1x schedule: mmdet's
# faster-rcnn_r50_fpn_1x_coco.py (37.4 box AP reported by mmdet for the static model) with the backbone swapped for
# CondConvResNet (default placement: the last stage, routing shared per bottleneck block; the paper's ResNet-50
# placement). Initialisation as in ../retinanet/retinanet_condconv8x-r50_fpn_1x_coco.py: torchvision://resnet50 for
# the static stages, CondConv2d's own init for the CondConv stage (or an upcycled checkpoint, see there).
_base_ = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'

custom_imports = dict(imports=['condconv_det'], allow_failed_imports=False)

model = dict(backbone=dict(type='CondConvResNet', num_experts=8))
custom_hooks = [dict(type='CheckInvalidLossHook', interval=50, priority='VERY_LOW'), dict(type='TrainBatchCheckHook')]
