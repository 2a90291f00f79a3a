# CondConv-8e SSDLite-MobileNetV2 320x320 on BCCD from the upcycled ImageNet MobileNetV2, with the upcycled backbone's
# expert learning rate x8 and weight decay x1/8 (CondConvOptimWrapperConstructor): at the uniform start routing
# r_i = 1/8 the mixed kernel would otherwise learn sum_i r_i^2 = 1/8 as fast as the static kernel; with the scaling
# the backbone takes exactly the static network's SGD steps until its routing specialises. The head's experts start
# random, so they keep the base settings. Everything else as ssdlite_condconv8x-mobilenetv2-imagenet_1xb8-12e_bccd.py
# (same schedule, seed, data and checkpoint as the static baseline ssdlite_mobilenetv2-imagenet_1xb8-12e_bccd.py).
_base_ = './ssdlite_condconv8x-mobilenetv2-imagenet_1xb8-12e_bccd.py'

optim_wrapper = dict(
    constructor='CondConvOptimWrapperConstructor',
    paramwise_cfg=dict(condconv=dict(expert_lr_mult='num_experts', expert_decay_mult='1/num_experts',
                                     module_prefixes=('backbone', ))))
