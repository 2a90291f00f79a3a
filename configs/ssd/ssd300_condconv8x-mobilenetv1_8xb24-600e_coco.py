# CondConv SSD300-MobileNetV1 on COCO, 8 experts: the CondConv paper's detection model (Yang et al. 2019, Sec. 5;
# COCO minival mAP 22.4 vs 20.3 static, for ~4% more inference cost, reported for the TF object-detection API model).
# Same data, schedule and seed as ssd300_mobilenetv1_8xb24-600e_coco.py; CondConv in
# - the backbone: CondConvMobileNetV1's default placement (stem and all 13 separable blocks, routing shared per block);
# - the SSD extra layers: mmdet's SSDNeck unchanged, its ConvModules built with conv_cfg=CondConv2d (own routing per
#   conv).
# The box predictors stay static. The paper does not list its detection placement; this one is read off its cost:
# kernel mixing adds E x (CondConv parameters) MADDs per image, 8 x 3.2M = +26M for the backbone's convolutions and
# 8 x 2.2M = +18M for the extra layers, i.e. +44M (+49M with routing, measured) = ~+4% of the TF model's ~1.2B, the
# paper's figure; CondConv predictors would add another 8 x 11.6M with mmdet's 3x3 predictors (for them too, set
# model.bbox_head=dict(num_experts=8, condconv_predictors=True)). The CondConv experts start from CondConv2d's own
# init (He normal on fan-out), not the TruncNormal of the static layers.
_base_ = './ssd300_mobilenetv1_8xb24-600e_coco.py'

model = dict(
    backbone=dict(num_experts=8),
    neck=dict(conv_cfg=dict(type='CondConv2d', num_experts=8)))
