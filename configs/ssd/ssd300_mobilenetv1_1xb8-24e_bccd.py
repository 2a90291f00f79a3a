# Static SSD300-MobileNetV1 on BCCD (3 classes, 300x300), a CPU-sized schedule from scratch: 24 epochs of the 205
# train images, batch 8, SGD + cosine as the BCCD SSDLite config (ssdlite_mobilenetv2_1xb8-24e_bccd.py). Model and
# approximations: ../_base_/models/ssd300_mobilenetv1.py.
_base_ = [
    '../_base_/models/ssd300_mobilenetv1.py', '../_base_/datasets/bccd_detection_300x300.py',
    '../_base_/schedules/cpu_cosine.py', '../_base_/cpu_runtime.py'
]

model = dict(bbox_head=dict(num_classes=3))
train_cfg = dict(max_epochs=24, val_interval=6)
default_hooks = dict(checkpoint=dict(interval=6))
