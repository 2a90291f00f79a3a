# Static SSDLite-MobileNetV2 320x320 on BCCD from the ImageNet MobileNetV2, 24 epochs (624 iterations): the
# ssdlite_mobilenetv2-imagenet_1xb8-12e_bccd.py baseline with twice the schedule, to test whether CondConv's experts
# need longer to pay off (its twin: ssdlite_condconv8x-mobilenetv2-imagenet-lrmatched_1xb8-24e_bccd.py).
_base_ = './ssdlite_mobilenetv2-imagenet_1xb8-12e_bccd.py'

train_cfg = dict(max_epochs=24, val_interval=24)  # the cosine follows (../_base_/schedules/cpu_cosine.py)
default_hooks = dict(checkpoint=dict(interval=24))
