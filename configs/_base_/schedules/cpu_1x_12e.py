# mmdet's 1x schedule (SGD momentum 0.9, weight decay 1e-4, steps at epochs 8 and 11) sized for a small dataset on
# CPU: 12 epochs, validation every 4, a 100-iteration warm-up instead of 500, gradient clipping at norm 35. The step
# scheduler has no `end`: mmengine's Runner ends it at train_cfg.max_epochs. Configs set the learning rate.
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=4)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1.0e-4),
    clip_grad=dict(max_norm=35, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=100),
    dict(type='MultiStepLR', begin=0, by_epoch=True, milestones=[8, 11], gamma=0.1),
]
