# The trained-detector upcycling recipe (README, BCCD): the static SSDLite-MobileNetV2 trained 24 epochs on BCCD,
# upcycled whole with one expert per CondConv layer (backbone blocks and head towers), fine-tuned 12 epochs. With
# E=1 a layer is its static kernel times a learned per-image gain sigmoid(GAP(x)·R) (Eq. 2 with n=1), shared by a
# block's convolutions. The routing starts at sigmoid(0) = 0.5 and the upcycled kernels at 2x the static ones (the
# same function exactly); the expert lr x4 and weight decay x1/4 then give the static network's SGD steps at the
# start (CondConvOptimWrapperConstructor). Static twin
# (same detector, schedule, seed, data): ssdlite_mobilenetv2-ft_1xb8-12e_bccd.py. Made by
#   python tools/train.py configs/ssdlite/ssdlite_mobilenetv2-imagenet_1xb8-24e_bccd.py
#   python tools/model_converters/upcycle_static_to_condconv.py \
#       work_dirs/ssdlite_mobilenetv2-imagenet_1xb8-24e_bccd/epoch_24.pth \
#       checkpoints/ssdlite_mobilenetv2-imagenet_1xb8-24e_bccd_upcycled_condconv1.pth \
#       --config configs/ssdlite/ssdlite_condconv1x-mobilenetv2-ft_1xb8-12e_bccd.py --whole-detector
#   python tools/train.py configs/ssdlite/ssdlite_condconv1x-mobilenetv2-ft_1xb8-12e_bccd.py
# and, to deploy, collapse the backbone blocks whose gain is constant (free on BCCD; README, BCCD):
#   python tools/deployment/collapse_routing.py configs/ssdlite/ssdlite_condconv1x-mobilenetv2-ft_1xb8-12e_bccd.py \
#       work_dirs/ssdlite_condconv1x-mobilenetv2-ft_1xb8-12e_bccd/epoch_12.pth --calib-split val --tol 5e-3 --out DIR
_base_ = './ssdlite_mobilenetv2-ft_1xb8-12e_bccd.py'

model = dict(
    backbone=dict(type='CondConvMobileNetV2', num_experts=1),
    bbox_head=dict(num_experts=1))
load_from = 'checkpoints/ssdlite_mobilenetv2-imagenet_1xb8-24e_bccd_upcycled_condconv1.pth'
optim_wrapper = dict(
    constructor='CondConvOptimWrapperConstructor',
    paramwise_cfg=dict(condconv=dict(expert_lr_mult=4.0, expert_decay_mult=0.25,
                                     module_prefixes=('backbone', 'bbox_head'))))
