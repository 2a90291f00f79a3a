# ./default_runtime.py sized for a CPU machine and small datasets: seed 0 (runs are reproducible), no cuDNN
# autotuning, a log line every 10 iterations, a checkpoint every 4 epochs (the 2 newest kept) and the one with the
# best validation bbox mAP. The dataset bases set auto_scale_lr next to the batch size the learning rates are for.
_base_ = './default_runtime.py'

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10),
    checkpoint=dict(type='CheckpointHook', interval=4, max_keep_ckpts=2, save_best='coco/bbox_mAP'))
env_cfg = dict(cudnn_benchmark=False)
randomness = dict(seed=0)
