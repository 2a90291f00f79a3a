# Static SSDLite-MobileNetV2 on the generated demo dataset (3 shape classes, 160x160), trained from scratch on CPU
# in minutes: the demo run by `bash tools/run_demo.sh`. Anchors are mmdet's SSDLite-320 anchors scaled to 160.
_base_ = [
    '../_base_/models/ssdlite_mobilenetv2.py', '../_base_/datasets/demo_shapes.py', '../_base_/schedules/cpu_cosine.py',
    '../_base_/cpu_runtime.py'
]

model = dict(
    bbox_head=dict(
        num_classes=3,
        anchor_generator=dict(
            strides=[16, 32, 53, 80, 160, 160],
            min_sizes=[16, 40, 64, 88, 112, 136],
            max_sizes=[40, 64, 88, 112, 136, 160])))
default_hooks = dict(logger=dict(interval=5), checkpoint=dict(interval=10))
