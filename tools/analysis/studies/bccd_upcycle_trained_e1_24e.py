# Issue 11: does the E=1 trained-detector upcycling's +0.75 (bccd_upcycle_trained_frozen_24e.py: 6 pairs on bases 2
# and 3, 2.2x the pooled seed std) hold on new bases, and does it need the backbone? Two new static SSDLite bases
# (24 epochs, seeds 4 and 5), each fine-tuned 12 more epochs three ways from the same function and data order:
# - static, as it is;
# - upcycled whole with one expert per layer (backbone + head towers): the static kernels times a learned per-image
#   sigmoid gain (routing starts at 0.5, so expert lr x4 and decay x1/4 match the static steps);
# - the same in the head towers only (static backbone): the held-back aerial data point says the gain came from the
#   head and the upcycled backbone never routed; if so this keeps the gain for less latency.
# - (added after the first three: head-only did not gain) cc1-both with the backbone's routing weights frozen at 0
#   ('routing.fc.weight' matches the backbone blocks' routing only; the head's is 'level_routings.N.fc'): each
#   backbone block learns one gain for every image (its bias) while the head keeps its per-image gain. Freezing the
#   backbone routing entirely would be cc1-head exactly (E=1 with x4 / x1/4 takes static SGD steps; tested), so this
#   asks whether the backbone's gain must vary per image in training or only be learned.
# - (added after cc1-bbgain tied static) cc1-both with the backbone routing reading detached inputs
#   (SigmoidRouting(detach_input=True)): per-image gains as in cc1-both, without the routing's gradient path into the
#   backbone features. Keeps the gain: the per-image forward variation matters; loses it: the gradient path does.
# The seeds are the fine-tune seeds.
#   python tools/analysis/run_study.py tools/analysis/studies/bccd_upcycle_trained_e1_24e.py --jobs 2 --threads 1 --no-cost
work_dir = 'work_dirs/studies/bccd_upcycle_trained_e1_24e'
results_dir = 'docs/studies/bccd_upcycle_trained_e1_24e'
seeds = [0, 1, 2]

_static = 'configs/ssdlite/ssdlite_mobilenetv2-imagenet_1xb8-24e_bccd.py'
_lrmatched = 'configs/ssdlite/ssdlite_condconv8x-mobilenetv2-imagenet-lrmatched_1xb8-24e_bccd.py'
_bases = (4, 5)
prepare = [
    dict(cmd='python tools/dataset_converters/voc2coco.py ../shared/data/bccd/BCCD --out data/bccd '
         '--classes RBC WBC Platelets', creates='data/bccd/annotations/instances_test.json'),
    dict(cmd='python tools/model_converters/fetch_torchvision_mobilenetv2.py',
         creates='checkpoints/mobilenet_v2_torchvision_mmdet.pth'),
]
_e1_steps = {'expert_lr_mult': 4.0, 'expert_decay_mult': 0.25}
conditions = []
for _b in _bases:
    _base = f'work_dirs/upcycle_trained/base_seed{_b}/epoch_24.pth'
    _both = f'checkpoints/bccd_static24e_seed{_b}_upcycled_condconv1.pth'
    _head = f'checkpoints/bccd_static24e_seed{_b}_upcycled_condconv1_head.pth'
    _names = [f'{c}-ft12e-base{_b}' for c in ('static', 'cc1-both-upcycled', 'cc1-head-upcycled', 'cc1-bbgain-upcycled',
                                                   'cc1-bbdetach-upcycled')]
    prepare += [
        dict(cmd=f'python tools/train.py {_static} --work-dir work_dirs/upcycle_trained/base_seed{_b} '
             f'--cfg-options randomness.seed={_b}', creates=_base, needed_by=_names),
        dict(cmd=f'python tools/model_converters/upcycle_static_to_condconv.py {_base} {_both} --config {_lrmatched} '
             '--whole-detector --cfg-options model.backbone.num_experts=1 model.bbox_head.num_experts=1',
             creates=_both, needed_by=_names[1:2] + _names[3:]),
        dict(cmd=f'python tools/model_converters/upcycle_static_to_condconv.py {_base} {_head} --config {_static} '
             '--whole-detector --cfg-options model.bbox_head.num_experts=1', creates=_head, needed_by=_names[2:3]),
    ]
    _finetune = {'train_cfg.max_epochs': 12, 'train_cfg.val_interval': 12, 'default_hooks.checkpoint.interval': 12}
    _cc1_both = {**_finetune, 'load_from': _both, 'model.backbone.num_experts': 1, 'model.bbox_head.num_experts': 1,
                 'optim_wrapper.paramwise_cfg.condconv': dict(**_e1_steps, module_prefixes=('backbone', 'bbox_head'))}
    conditions += [
        dict(name=f'static-ft12e-base{_b}', config=_static, cfg_options={**_finetune, 'load_from': _base},
             note=f'the static detector trained 24 epochs with seed {_b}, 12 more epochs'),
        dict(name=f'cc1-both-upcycled-ft12e-base{_b}', config=_lrmatched, cfg_options=_cc1_both,
             note='upcycled whole with E=1: the static kernels times a learned per-image gain'),
        dict(name=f'cc1-head-upcycled-ft12e-base{_b}', config=_static,
             cfg_options={**_finetune, 'load_from': _head, 'model.bbox_head.num_experts': 1,
                          'optim_wrapper.constructor': 'CondConvOptimWrapperConstructor',
                          'optim_wrapper.paramwise_cfg': dict(
                              condconv=dict(**_e1_steps, module_prefixes=('bbox_head', )))},
             note='E=1 in the head towers only; the backbone stays static'),
        dict(name=f'cc1-bbgain-upcycled-ft12e-base{_b}', config=_lrmatched,
             cfg_options={**_cc1_both, 'optim_wrapper.paramwise_cfg.custom_keys': {
                 'routing.fc.weight': dict(lr_mult=0.0, decay_mult=0.0)}},
             note='cc1-both with the backbone routing weights frozen at 0: a learned gain per block, the same for '
                  'every image (the head keeps its per-image gain)'),
        dict(name=f'cc1-bbdetach-upcycled-ft12e-base{_b}', config=_lrmatched,
             cfg_options={**_cc1_both, 'model.backbone.routing_cfg': dict(type='SigmoidRouting', detach_input=True)},
             note="cc1-both with the backbone's routing on detached inputs: its gains vary per image and learn as "
                  'in cc1-both, but send no gradient into the backbone features'),
    ]
