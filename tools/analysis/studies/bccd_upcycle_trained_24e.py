# Issue 11: does CondConv add anything once it starts at a *trained* static detector? Both CondConv models of
# bccd_long_64e.py end with a higher training loss than static (0.72 vs 0.68): their CondConv head towers start from
# random weights and train slower. Here a static SSDLite trained 24 epochs (seed 0, a prepare step) is either
# trained 12 more epochs as it is, or upcycled whole (backbone and head towers, expert noise 0.1: the same function
# at the start) into CondConv-8e and trained the same 12 epochs with lr-matched experts in both parts. Same data,
# schedule (a fresh warm-up + cosine) and starting function; the seeds are the fine-tune seeds. 16 min a run, four
# side by side on an idle machine, after the 24-epoch base (13 min alone with 2 threads).
#   python tools/analysis/run_study.py tools/analysis/studies/bccd_upcycle_trained_24e.py --jobs 4 --threads 1
# (the base-1 pair, added last, ran with --jobs 2 --no-cost: 8 min a run)
work_dir = 'work_dirs/studies/bccd_upcycle_trained_24e'
results_dir = 'docs/studies/bccd_upcycle_trained_24e'
seeds = [0, 1]

_static = 'configs/ssdlite/ssdlite_mobilenetv2-imagenet_1xb8-24e_bccd.py'
_lrmatched = 'configs/ssdlite/ssdlite_condconv8x-mobilenetv2-imagenet-lrmatched_1xb8-24e_bccd.py'
_base = 'work_dirs/upcycle_trained/base/epoch_24.pth'
_upcycled = 'checkpoints/bccd_static24e_seed0_upcycled_condconv8_noise0.1.pth'
_base1 = 'work_dirs/upcycle_trained/base_seed1/epoch_24.pth'
_upcycled1 = 'checkpoints/bccd_static24e_seed1_upcycled_condconv8_noise0.1.pth'
prepare = [
    dict(cmd='python tools/dataset_converters/voc2coco.py ../shared/data/bccd/BCCD --out data/bccd '
         '--classes RBC WBC Platelets', creates='data/bccd/annotations/instances_test.json'),
    dict(cmd='python tools/model_converters/fetch_torchvision_mobilenetv2.py',
         creates='checkpoints/mobilenet_v2_torchvision_mmdet.pth'),
    dict(cmd=f'python tools/train.py {_static} --work-dir work_dirs/upcycle_trained/base '
         '--cfg-options randomness.seed=0', creates=_base),
    dict(cmd=f'python tools/model_converters/upcycle_static_to_condconv.py {_base} {_upcycled} --config {_lrmatched} '
         '--whole-detector --noise-std 0.1', creates=_upcycled),
    # a second base model (seed 1), fine-tuned with one seed: the base training's own spread
    dict(cmd=f'python tools/train.py {_static} --work-dir work_dirs/upcycle_trained/base_seed1 '
         '--cfg-options randomness.seed=1', creates=_base1),
    dict(cmd=f'python tools/model_converters/upcycle_static_to_condconv.py {_base1} {_upcycled1} --config {_lrmatched} '
         '--whole-detector --noise-std 0.1', creates=_upcycled1),
]
_finetune = {'train_cfg.max_epochs': 12, 'train_cfg.val_interval': 12, 'default_hooks.checkpoint.interval': 12}
conditions = [
    dict(name='static-ft12e', config=_static, cfg_options={**_finetune, 'load_from': _base},
         note='the trained static detector, 12 more epochs'),
    dict(name='cc8-both-upcycled-ft12e', config=_lrmatched,
         cfg_options={**_finetune, 'load_from': _upcycled,
                      'optim_wrapper.paramwise_cfg.condconv.module_prefixes': ('backbone', 'bbox_head')},
         note='the same detector upcycled whole to CondConv-8e (backbone + head), 12 epochs, lr-matched experts'),
    dict(name='static-ft12e-base1', config=_static, cfg_options={**_finetune, 'load_from': _base1}, seeds=[0],
         note='as static-ft12e from the base trained with seed 1'),
    dict(name='cc8-both-upcycled-ft12e-base1', config=_lrmatched, seeds=[0],
         cfg_options={**_finetune, 'load_from': _upcycled1,
                      'optim_wrapper.paramwise_cfg.condconv.module_prefixes': ('backbone', 'bbox_head')},
         note='as cc8-both-upcycled-ft12e from the base trained with seed 1'),
]
