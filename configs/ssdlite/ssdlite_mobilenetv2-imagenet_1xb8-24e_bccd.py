# Static SSDLite-MobileNetV2 320x320 on BCCD from the ImageNet MobileNetV2, 24 epochs (624 iterations): the
# ssdlite_mobilenetv2-imagenet_1xb8-12e_bccd.py baseline with twice the schedule, to test whether CondConv's experts
# need longer to pay off (its twin: ssdlite_condconv-mobilenetv2-8e-imagenet-lrmatched_1xb8-24e_bccd.py).
_base_ = './ssdlite_mobilenetv2-imagenet_1xb8-12e_bccd.py'

max_epochs = 24
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', begin=0, T_max=max_epochs, end=max_epochs, by_epoch=True, eta_min=0),
]
default_hooks = dict(checkpoint=dict(interval=max_epochs))
