# Issue 11: is the trained-detector upcycling's +0.7 (bccd_upcycle_trained_24e.py: 3 pairs, ahead on every pair,
# 1.9x the pooled std) routing, or the chaos of a different float path through the same training? Two new static
# SSDLite bases (24 epochs, seeds 2 and 3), each fine-tuned 12 more epochs four ways from the same function:
# - static, as it is;
# - upcycled whole to CondConv-8e (backbone + head towers, expert noise 0.1), lr-matched experts (the recipe);
# - the same with the routing frozen (routing lr x0): at the uniform routing the lr-matched experts take exactly the
#   static kernel's SGD steps (CondConvOptimWrapperConstructor's docstring), so this is static training in exact
#   arithmetic, computed through CondConv layers. Its gap to static is the float-path noise of a paired comparison;
#   the recipe's gap beyond it is what learning the routing adds.
# - the E=1 control: upcycled with one expert per layer, i.e. the static kernels times a learned per-image
#   gain (sigmoid routing starts at 0.5, so expert lr x4 and decay x1/4 match the static steps): is a per-image gain
#   all that the routed CondConv-8e learns, at 1/6 of its parameters?
# The seeds are the fine-tune seeds; a base's runs share data order and starting function.
#   python tools/analysis/run_study.py tools/analysis/studies/bccd_upcycle_trained_frozen_24e.py --jobs 2 --threads 1 --no-cost
work_dir = 'work_dirs/studies/bccd_upcycle_trained_frozen_24e'
results_dir = 'docs/studies/bccd_upcycle_trained_frozen_24e'
seeds = [0, 1, 2]

_static = 'configs/ssdlite/ssdlite_mobilenetv2-imagenet_1xb8-24e_bccd.py'
_lrmatched = 'configs/ssdlite/ssdlite_condconv8x-mobilenetv2-imagenet-lrmatched_1xb8-24e_bccd.py'
_bases = (2, 3)
prepare = [
    dict(cmd='python tools/dataset_converters/voc2coco.py ../shared/data/bccd/BCCD --out data/bccd '
         '--classes RBC WBC Platelets', creates='data/bccd/annotations/instances_test.json'),
    dict(cmd='python tools/model_converters/fetch_torchvision_mobilenetv2.py',
         creates='checkpoints/mobilenet_v2_torchvision_mmdet.pth'),
]
conditions = []
for _b in _bases:
    _base = f'work_dirs/upcycle_trained/base_seed{_b}/epoch_24.pth'
    _upcycled = f'checkpoints/bccd_static24e_seed{_b}_upcycled_condconv8_noise0.1.pth'
    _upcycled_e1 = f'checkpoints/bccd_static24e_seed{_b}_upcycled_condconv1.pth'
    _e1 = {'model.backbone.num_experts': 1, 'model.bbox_head.num_experts': 1}
    prepare += [
        dict(cmd=f'python tools/train.py {_static} --work-dir work_dirs/upcycle_trained/base_seed{_b} '
             f'--cfg-options randomness.seed={_b}', creates=_base),
        dict(cmd=f'python tools/model_converters/upcycle_static_to_condconv.py {_base} {_upcycled} '
             f'--config {_lrmatched} --whole-detector --noise-std 0.1', creates=_upcycled),
        dict(cmd=f'python tools/model_converters/upcycle_static_to_condconv.py {_base} {_upcycled_e1} '
             f'--config {_lrmatched} --whole-detector --cfg-options ' + ' '.join(f'{k}={v}' for k, v in _e1.items()),
             creates=_upcycled_e1),
    ]
    _finetune = {'train_cfg.max_epochs': 12, 'train_cfg.val_interval': 12, 'default_hooks.checkpoint.interval': 12}
    _condconv = {**_finetune, 'load_from': _upcycled,
                 'optim_wrapper.paramwise_cfg.condconv.module_prefixes': ('backbone', 'bbox_head')}
    _cc1 = {**_condconv, **_e1, 'load_from': _upcycled_e1, 'optim_wrapper.paramwise_cfg.condconv.expert_lr_mult': 4.0,
            'optim_wrapper.paramwise_cfg.condconv.expert_decay_mult': 0.25}
    conditions += [
        dict(name=f'static-ft12e-base{_b}', config=_static, cfg_options={**_finetune, 'load_from': _base},
             note=f'the static detector trained 24 epochs with seed {_b}, 12 more epochs'),
        dict(name=f'cc8-both-upcycled-ft12e-base{_b}', config=_lrmatched, cfg_options=_condconv,
             note='the same detector upcycled whole to CondConv-8e, 12 epochs, lr-matched experts'),
        dict(name=f'cc8-both-upcycled-frozenrouting-ft12e-base{_b}', config=_lrmatched,
             cfg_options={**_condconv, 'optim_wrapper.paramwise_cfg.condconv.routing_lr_mult': 0.0},
             note='the same with the routing frozen at uniform: static training in exact arithmetic'),
        dict(name=f'cc1-both-upcycled-ft12e-base{_b}', config=_lrmatched, cfg_options=_cc1,
             note='E=1 control: the static kernels times a learned per-image gain'),
        dict(name=f'cc1-bbgain-upcycled-ft12e-base{_b}', config=_lrmatched,
             cfg_options={**_cc1, 'optim_wrapper.paramwise_cfg.custom_keys': {
                 'routing.fc.weight': dict(lr_mult=0.0, decay_mult=0.0)}},
             note='the E=1 control with the backbone routing weights frozen at 0 (added later; '
                  'bccd_upcycle_trained_e1_24e.py): one learned gain per block for every image'),
    ]
