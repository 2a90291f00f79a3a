# Static SSDLite-MobileNetV2 320x320 on BCCD, backbone initialised from torchvision's ImageNet MobileNetV2
# (converted to mmdet keys by tools/model_converters/fetch_torchvision_mobilenetv2.py). The baseline of the README's
# BCCD experiment: 12 epochs of the 205 train images at batch 8 (312 iterations, sized for ~1 CPU-hour), validated
# once at the end; evaluate on the test split with tools/test.py. Its CondConv twin is
# ssdlite_condconv8x-mobilenetv2-imagenet_1xb8-12e_bccd.py (same schedule, seed and data; backbone = the
# function-preserving upcycled form of the same checkpoint).
_base_ = './ssdlite_mobilenetv2_1xb8-24e_bccd.py'

load_from = 'checkpoints/mobilenet_v2_torchvision_mmdet.pth'  # backbone.* keys; neck and head start from init_cfg
train_cfg = dict(max_epochs=12, val_interval=12)
optim_wrapper = dict(optimizer=dict(lr=0.02))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),  # a shorter warm-up from ImageNet
    dict(type='CosineAnnealingLR', begin=0, by_epoch=True, eta_min=0),
]
default_hooks = dict(checkpoint=dict(interval=12, max_keep_ckpts=1, save_best=None))
