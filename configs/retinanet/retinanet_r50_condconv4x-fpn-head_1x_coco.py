# RetinaNet on COCO, mmdet's 1x schedule, with a stock mmdet ResNet-50 and CondConv (4 experts) only in the FPN and
# the RetinaHead towers -- set purely through mmdet's `conv_cfg`, no code change: every ConvModule of FPN (lateral,
# output and extra P6/P7 convs) and of RetinaHead's class/box towers is a CondConv2d with its own sigmoid routing
# (paper eq. 2) over its input. The final retina_cls / retina_reg predictors are plain nn.Conv2d in mmdet and stay
# static. Otherwise mmdet's retinanet_r50_fpn_1x_coco.py (36.5 box AP reported by mmdet).
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'

custom_imports = dict(imports=['condconv_det'], allow_failed_imports=False)

cond_conv_cfg = dict(type='CondConv2d', num_experts=4)
model = dict(neck=dict(conv_cfg=cond_conv_cfg), bbox_head=dict(conv_cfg=cond_conv_cfg))
custom_hooks = [dict(type='CheckInvalidLossHook', interval=50, priority='VERY_LOW'), dict(type='TrainBatchCheckHook')]
