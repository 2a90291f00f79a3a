# Static SSD-MobileNetV1 (the SSD300-MobileNetV1 model of ../_base_/models/ssd300_mobilenetv1.py) on the generated
# demo dataset (3 shape classes, 160x160), from scratch on CPU in minutes: the CPU-sized twin of
# ssd300_mobilenetv1_8xb24-600e_coco.py. At 160 px the six levels are 10, 5, 3, 2, 1, 1 px; anchors are the demo
# SSDLite's (mmdet's SSDLite-320 anchors scaled to 160).
_base_ = [
    '../_base_/models/ssd300_mobilenetv1.py', '../_base_/datasets/demo_shapes.py', '../_base_/schedules/cpu_cosine.py',
    '../_base_/cpu_runtime.py'
]

model = dict(
    bbox_head=dict(
        num_classes=3,
        anchor_generator=dict(
            strides=[16, 32, 53, 80, 160, 160],
            ratios=[[2, 3], [2, 3], [2, 3], [2, 3], [2, 3], [2, 3]],
            min_sizes=[16, 40, 64, 88, 112, 136],
            max_sizes=[40, 64, 88, 112, 136, 160])))
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=10))
