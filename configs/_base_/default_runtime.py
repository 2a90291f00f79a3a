# The plugin's runtime on top of mmdet's default_runtime.py: condconv_det registered through custom_imports, and the
# checks every training runs: mmdet's class-count and invalid-loss hooks, and the plugin's TrainBatchCheckHook (stops a
# run whose batches BatchNorm cannot use, before PyTorch does). GPU recipes (the COCO configs) use it as it is; the
# CPU-sized configs use ./cpu_runtime.py.
_base_ = 'mmdet::_base_/default_runtime.py'

custom_imports = dict(imports=['condconv_det'], allow_failed_imports=False)
custom_hooks = [
    dict(type='NumClassCheckHook'),
    dict(type='CheckInvalidLossHook', interval=50, priority='VERY_LOW'),
    dict(type='TrainBatchCheckHook'),
]
