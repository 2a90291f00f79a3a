# Static SSDLite-MobileNetV2 320x320 on BCCD, fine-tuned 12 more epochs from the static detector trained 24 epochs
# (ssdlite_mobilenetv2-imagenet_1xb8-24e_bccd.py): the baseline of the trained-detector upcycling recipe
# ssdlite_condconv1x-mobilenetv2-ft_1xb8-12e_bccd.py, which starts from the same detector. First
#   python tools/train.py configs/ssdlite/ssdlite_mobilenetv2-imagenet_1xb8-24e_bccd.py
_base_ = './ssdlite_mobilenetv2-imagenet_1xb8-24e_bccd.py'

train_cfg = dict(max_epochs=12, val_interval=12)  # the warm-up and cosine restart from the 24-epoch schedule's lr
default_hooks = dict(checkpoint=dict(interval=12))
load_from = 'work_dirs/ssdlite_mobilenetv2-imagenet_1xb8-24e_bccd/epoch_24.pth'
