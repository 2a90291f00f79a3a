# The BCCD recipe study at the 12-epoch schedule (issue 11): SSDLite-MobileNetV2 320, all from the same ImageNet
# MobileNetV2 (static checkpoint, or its function-preserving upcycled form), same data, schedule and seeds.
#   python tools/analysis/run_study.py tools/analysis/studies/bccd_recipes_12e.py --jobs 2 --threads 1
# Results: docs/studies/bccd_recipes_12e/ (results.csv is the resume state: commit it).
work_dir = 'work_dirs/studies/bccd_recipes_12e'
results_dir = 'docs/studies/bccd_recipes_12e'
seeds = [0, 1]

_fetch = 'python tools/model_converters/fetch_torchvision_mobilenetv2.py'
_ckpt = 'checkpoints/mobilenet_v2_torchvision_'
prepare = [
    dict(cmd='python tools/dataset_converters/voc2coco.py ../shared/data/bccd/BCCD --out data/bccd '
         '--classes RBC WBC Platelets', creates='data/bccd/annotations/instances_test.json'),
    dict(cmd=_fetch, creates=_ckpt + 'condconv8_noise0.1.pth'),
    dict(cmd=_fetch + ' --noise-std 0.5', creates=_ckpt + 'condconv8_noise0.5.pth'),
    dict(cmd=_fetch + ' --noise-std 1.0', creates=_ckpt + 'condconv8_noise1.pth'),
    dict(cmd=_fetch + ' --num-experts 1', creates=_ckpt + 'condconv1_noise0.1.pth'),
    dict(cmd=_fetch + ' --num-experts 2', creates=_ckpt + 'condconv2_noise0.1.pth'),
    dict(cmd=_fetch + ' --num-experts 4', creates=_ckpt + 'condconv4_noise0.1.pth'),
    dict(cmd=_fetch + ' --routing-init-scale 0.1', creates=_ckpt + 'condconv8_noise0.1_routing0.1.pth'),
]

_static = 'configs/ssdlite/ssdlite_mobilenetv2-imagenet_1xb8-12e_bccd.py'
_lrmatched = 'configs/ssdlite/ssdlite_condconv8x-mobilenetv2-imagenet-lrmatched_1xb8-12e_bccd.py'


def _experts(e, lr_mult='num_experts', decay_mult='1/num_experts'):
    return {'model.backbone.num_experts': e, 'model.bbox_head.num_experts': e,
            'load_from': _ckpt + f'condconv{e}_noise0.1.pth',
            'optim_wrapper.paramwise_cfg.condconv.expert_lr_mult': lr_mult,
            'optim_wrapper.paramwise_cfg.condconv.expert_decay_mult': decay_mult}


conditions = [
    dict(name='static', config=_static, note='the baseline: ImageNet MobileNetV2, static head'),
    dict(name='cc8-both-noise0.1', config=_lrmatched,
         note='CondConv-8e backbone (upcycled, lr-matched) + head towers: the recipe of the previous session'),
    dict(name='cc8-head', config=_static, cfg_options={'model.bbox_head.num_experts': 8},
         note='placement: static ImageNet backbone, CondConv-8e head towers only'),
    dict(name='cc1-both', config=_lrmatched, cfg_options=_experts(1, 4.0, 0.25),
         note='E=1 control (a per-image gain); sigmoid routing starts at 0.5, so lr x4 / decay x1/4 match the '
         'static steps'),
    dict(name='cc8-both-noise1.0', config=_lrmatched, cfg_options={'load_from': _ckpt + 'condconv8_noise1.pth'},
         note='symmetry breaking: zero-sum expert noise 1.0 x kernel std (function still exactly static at start)'),
    dict(name='cc8-backbone', config=_lrmatched, cfg_options={'model.bbox_head.num_experts': 0},
         note='placement: CondConv-8e backbone only, static head'),
    dict(name='cc8-both-noise0.5', config=_lrmatched, cfg_options={'load_from': _ckpt + 'condconv8_noise0.5.pth'},
         note='symmetry breaking: noise 0.5'),
    dict(name='cc4-both', config=_lrmatched, cfg_options=_experts(4), note='experts (RQ2): E=4'),
    dict(name='cc2-both', config=_lrmatched, cfg_options=_experts(2), note='experts (RQ2): E=2'),
    dict(name='cc8-both-routinginit0.1', config=_lrmatched,
         cfg_options={'load_from': _ckpt + 'condconv8_noise0.1_routing0.1.pth'},
         note='symmetry breaking: routing weights R at 0.1 x nn.Linear\'s default init (routing differs per image '
         'from the start; the function is no longer exactly static)'),
]
