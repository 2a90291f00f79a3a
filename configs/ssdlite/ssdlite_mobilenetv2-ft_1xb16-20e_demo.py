# Static SSDLite-MobileNetV2 on the demo dataset, fine-tuned 20 more epochs from the static demo detector trained 40
# epochs (ssdlite_mobilenetv2-imagenet_1xb16-40e_demo.py): the baseline of the demo's trained-detector upcycling
# recipe ssdlite_condconv1x-mobilenetv2-ft_1xb16-20e_demo.py, which starts from the same detector. First
#   python tools/train.py configs/ssdlite/ssdlite_mobilenetv2-imagenet_1xb16-40e_demo.py
_base_ = './ssdlite_mobilenetv2-imagenet_1xb16-40e_demo.py'

train_cfg = dict(max_epochs=20, val_interval=20)  # the warm-up and cosine restart from the 40-epoch schedule's lr
load_from = 'work_dirs/ssdlite_mobilenetv2-imagenet_1xb16-40e_demo/epoch_40.pth'
