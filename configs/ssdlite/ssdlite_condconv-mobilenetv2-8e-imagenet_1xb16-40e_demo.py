# The demo (`bash tools/run_demo.sh`): CondConv-8e SSDLite-MobileNetV2 on the generated demo dataset (160x160, 3 shape
# classes), backbone initialised from the upcycled torchvision ImageNet MobileNetV2 that
# `python tools/model_converters/fetch_torchvision_mobilenetv2.py` writes (experts = the static kernels plus zero-sum
# noise, routing constant 1/8). 40 epochs of 240 images at batch 16, sized to train and evaluate in minutes on 2 CPU
# cores. From-scratch twin: ssdlite_condconv-mobilenetv2-8e_1xb16-30e_demo.py.
_base_ = './ssdlite_condconv-mobilenetv2-8e_1xb16-30e_demo.py'

load_from = 'checkpoints/mobilenet_v2_torchvision_condconv8_noise0.1.pth'
max_epochs = 40
train_cfg = dict(max_epochs=max_epochs, val_interval=20)
optim_wrapper = dict(optimizer=dict(lr=0.02))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(type='CosineAnnealingLR', begin=0, T_max=max_epochs, end=max_epochs, by_epoch=True, eta_min=0),
]
