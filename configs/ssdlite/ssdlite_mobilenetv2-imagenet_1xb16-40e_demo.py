# Static twin of the demo config ssdlite_condconv8x-mobilenetv2-imagenet_1xb16-40e_demo.py: SSDLite-MobileNetV2 on
# the demo dataset from torchvision's ImageNet MobileNetV2 (mmdet keys, written by
# tools/model_converters/fetch_torchvision_mobilenetv2.py); same schedule, seed and data.
_base_ = './ssdlite_mobilenetv2_1xb16-30e_demo.py'

load_from = 'checkpoints/mobilenet_v2_torchvision_mmdet.pth'
train_cfg = dict(max_epochs=40, val_interval=20)
optim_wrapper = dict(optimizer=dict(lr=0.02))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),  # a shorter warm-up from ImageNet
    dict(type='CosineAnnealingLR', begin=0, by_epoch=True, eta_min=0),
]
