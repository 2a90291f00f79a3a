# Static SSDLite-MobileNetV2 320x320 on BCCD (3 classes), a CPU-sized schedule: 24 epochs of the 205 train images,
# batch 8. Trained from scratch unless `load_from` / the backbone's init_cfg point at ImageNet weights (see README).
_base_ = [
    '../_base_/models/ssdlite_mobilenetv2.py', '../_base_/datasets/bccd_detection.py',
    '../_base_/schedules/cpu_cosine.py', '../_base_/cpu_runtime.py'
]

model = dict(bbox_head=dict(num_classes=3))
train_cfg = dict(max_epochs=24, val_interval=6)
default_hooks = dict(checkpoint=dict(interval=6))
