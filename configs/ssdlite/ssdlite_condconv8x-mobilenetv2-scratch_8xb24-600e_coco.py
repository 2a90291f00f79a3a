# CondConv SSDLite-MobileNetV2 at 320x320 on COCO, 8 experts, from scratch: mmdet's SSDLite recipe (8 GPUs x 24,
# 600 effective epochs; static model 21.3 box AP on val2017 reported by mmdet) with CondConv in
# - the backbone: CondConvMobileNetV2's default placement (layer4..layer7 and conv2, the paper's MobileNetV2
#   placement, routing shared per block);
# - the SSDLite head towers: CondConvSSDHead(num_experts=8), one routing vector per level for both towers.
# Same data, schedule and seed as ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py. The CondConv experts start from
# CondConv2d's own init (He normal on fan-out), not the TruncNormal/Normal of the static layers.
_base_ = './ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py'

model = dict(
    backbone=dict(type='CondConvMobileNetV2', num_experts=8),
    bbox_head=dict(num_experts=8))
