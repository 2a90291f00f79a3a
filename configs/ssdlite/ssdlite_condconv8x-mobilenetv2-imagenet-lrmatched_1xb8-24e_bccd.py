# CondConv-8e SSDLite-MobileNetV2 320x320 on BCCD, upcycled ImageNet MobileNetV2 with lr-matched experts, 24 epochs:
# ssdlite_condconv8x-mobilenetv2-imagenet-lrmatched_1xb8-12e_bccd.py with the schedule of its static twin
# ssdlite_mobilenetv2-imagenet_1xb8-24e_bccd.py (same seed, data, initialisation).
_base_ = './ssdlite_condconv8x-mobilenetv2-imagenet-lrmatched_1xb8-12e_bccd.py'

train_cfg = dict(max_epochs=24, val_interval=24)  # the cosine follows (../_base_/schedules/cpu_cosine.py)
default_hooks = dict(checkpoint=dict(interval=24))
