# The demo (`bash tools/run_demo.sh`): CondConv-8e SSDLite-MobileNetV2 on the generated demo dataset (160x160, 3 shape
# classes), backbone initialised from the upcycled torchvision ImageNet MobileNetV2 that
# `python tools/model_converters/fetch_torchvision_mobilenetv2.py` writes (experts = the static kernels plus zero-sum
# noise, routing constant 1/8), trained with the lr-matched recipe (upcycled experts: lr x8, weight decay x1/8, so the
# backbone learns at the static rate; see CondConvOptimWrapperConstructor). 40 epochs of 240 images at batch 16,
# sized to train and evaluate in minutes on 2 CPU cores. Schedule, seed and data are those of its static twin
# ssdlite_mobilenetv2-imagenet_1xb16-40e_demo.py; from scratch: ssdlite_condconv8x-mobilenetv2_1xb16-30e_demo.py.
_base_ = './ssdlite_mobilenetv2-imagenet_1xb16-40e_demo.py'

model = dict(
    backbone=dict(type='CondConvMobileNetV2', num_experts=8),
    bbox_head=dict(num_experts=8))
load_from = 'checkpoints/mobilenet_v2_torchvision_condconv8_noise0.1.pth'
optim_wrapper = dict(
    constructor='CondConvOptimWrapperConstructor',
    paramwise_cfg=dict(condconv=dict(expert_lr_mult='num_experts', expert_decay_mult='1/num_experts',
                                     module_prefixes=('backbone', ))))
