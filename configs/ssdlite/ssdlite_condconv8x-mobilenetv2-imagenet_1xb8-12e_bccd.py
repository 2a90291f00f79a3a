# CondConv-8e SSDLite-MobileNetV2 320x320 on BCCD, backbone initialised from the upcycled torchvision ImageNet
# MobileNetV2: every expert = the static kernel plus zero-sum noise (std 0.1 x the kernel's std, so the mix at
# constant routing is still exactly the static kernel), routing constant 1/8: at step 0 the backbone computes the
# static network's function, and the noise lets the experts diverge (without it they get identical gradients
# forever). Made by
#   python tools/model_converters/upcycle_static_to_condconv.py checkpoints/mobilenet_v2_torchvision_mmdet.pth \
#       checkpoints/mobilenet_v2_torchvision_condconv8_noise0.1.pth --num-experts 8 --noise-std 0.1 --seed 0
# Schedule, seed and data identical to the static ssdlite_mobilenetv2-imagenet_1xb8-12e_bccd.py; the head's towers
# are CondConv-8e (random init, like the static head).
_base_ = './ssdlite_mobilenetv2-imagenet_1xb8-12e_bccd.py'

model = dict(
    backbone=dict(type='CondConvMobileNetV2', num_experts=8),
    bbox_head=dict(num_experts=8))
load_from = 'checkpoints/mobilenet_v2_torchvision_condconv8_noise0.1.pth'
