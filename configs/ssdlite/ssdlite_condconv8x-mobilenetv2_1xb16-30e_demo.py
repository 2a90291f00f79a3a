# CondConv SSDLite-MobileNetV2 on the demo dataset: the static demo config with 8-expert CondConv in the backbone
# (the paper's MobileNetV2 placement: layer4..layer7 and conv2, routing shared per block) and in the head's towers
# (routing shared per level). Same data, schedule and seed as ssdlite_mobilenetv2_1xb16-30e_demo.py.
_base_ = './ssdlite_mobilenetv2_1xb16-30e_demo.py'

model = dict(
    backbone=dict(type='CondConvMobileNetV2', num_experts=8),
    bbox_head=dict(num_experts=8))
