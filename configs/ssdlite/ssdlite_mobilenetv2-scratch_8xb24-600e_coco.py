# Static SSDLite-MobileNetV2 at 320x320 on COCO, trained from scratch for 600 effective epochs (120 epochs of a 5x
# repeated dataset), batch 8 GPUs x 24. Reproduces mmdet's ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py
# (COCO val2017 box AP 21.3 reported by mmdet), with the plugin's CondConvSSDHead(num_experts=0): the same layers and
# parameter names as mmdet's SSDHead, without mmdet 3.3.0's `loss_cls` AttributeError at validation/test.
# Data: data/coco/{annotations,train2017,val2017} as in mmdet.
_base_ = 'mmdet::ssd/ssdlite_mobilenetv2-scratch_8xb24-600e_coco.py'

custom_imports = dict(imports=['condconv_det'], allow_failed_imports=False)

model = dict(bbox_head=dict(type='CondConvSSDHead', num_experts=0))
# mmdet's loader ends an epoch with len(dataset) % 24 images: a batch of one would stop the extra layers' 1x1
# BatchNorm. FillLastBatchSampler completes the last batch (condconv_det/datasets/samplers/fill_last_batch_sampler.py).
train_dataloader = dict(batch_sampler=dict(_delete_=True, type='FillLastBatchSampler'))  # mmdet's is None
custom_hooks = [
    dict(type='NumClassCheckHook'),
    dict(type='CheckInvalidLossHook', interval=50, priority='VERY_LOW'),
    dict(type='TrainBatchCheckHook'),
]
