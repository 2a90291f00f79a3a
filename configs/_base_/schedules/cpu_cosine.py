# A short CPU schedule: SGD (momentum 0.9, weight decay 4e-5, gradients clipped at norm 10), a 100-iteration linear
# warm-up, then a cosine decay to 0 over the whole training: the cosine scheduler has no `end`, so mmengine's Runner
# ends it at train_cfg.max_epochs and CosineAnnealingLR takes T_max = end - begin. A config (or --cfg-options) changes
# the epochs with train_cfg.max_epochs alone. 30 epochs, validation every 10; configs set their epochs and lr.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=30, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=4.0e-5),
    clip_grad=dict(max_norm=10.0))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=100),
    dict(type='CosineAnnealingLR', begin=0, by_epoch=True, eta_min=0),
]
