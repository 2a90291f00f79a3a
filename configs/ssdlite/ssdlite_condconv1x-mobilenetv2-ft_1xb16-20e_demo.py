# The BCCD recipe (ssdlite_condconv1x-mobilenetv2-ft_1xb8-12e_bccd.py) on the demo dataset: the static demo detector
# trained 40 epochs, upcycled whole with one expert per CondConv layer (a learned per-image gain sigmoid(GAP(x)·R) per
# backbone block and head level, Eq. 2 with n=1; the same function at the start), fine-tuned 20 epochs with expert
# lr x4 and weight decay x1/4 (the static SGD steps at r = 0.5). Static twin: ssdlite_mobilenetv2-ft_1xb16-20e_demo.py.
#   python tools/train.py configs/ssdlite/ssdlite_mobilenetv2-imagenet_1xb16-40e_demo.py
#   python tools/model_converters/upcycle_static_to_condconv.py \
#       work_dirs/ssdlite_mobilenetv2-imagenet_1xb16-40e_demo/epoch_40.pth \
#       checkpoints/ssdlite_mobilenetv2-imagenet_1xb16-40e_demo_upcycled_condconv1.pth \
#       --config configs/ssdlite/ssdlite_condconv1x-mobilenetv2-ft_1xb16-20e_demo.py --whole-detector
#   python tools/train.py configs/ssdlite/ssdlite_condconv1x-mobilenetv2-ft_1xb16-20e_demo.py
_base_ = './ssdlite_mobilenetv2-ft_1xb16-20e_demo.py'

model = dict(
    backbone=dict(type='CondConvMobileNetV2', num_experts=1),
    bbox_head=dict(num_experts=1))
load_from = 'checkpoints/ssdlite_mobilenetv2-imagenet_1xb16-40e_demo_upcycled_condconv1.pth'
optim_wrapper = dict(
    constructor='CondConvOptimWrapperConstructor',
    paramwise_cfg=dict(condconv=dict(expert_lr_mult=4.0, expert_decay_mult=0.25,
                                     module_prefixes=('backbone', 'bbox_head'))))
