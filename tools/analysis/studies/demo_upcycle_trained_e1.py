# Issue 11: does the BCCD recipe (a trained static detector upcycled whole with E=1, fine-tuned) beat static on the
# demo data, where the demo config should use it? Two static demo detectors (40 epochs from ImageNet, seeds 0 and 1),
# each fine-tuned 20 more epochs with seeds 0, 1, 2: static, and upcycled whole with one expert per layer (the
# configs ssdlite_mobilenetv2-ft_1xb16-20e_demo.py / ssdlite_condconv1x-mobilenetv2-ft_1xb16-20e_demo.py).
# Added after the static bases reached 0.278 / 0.282: the former demo config (CondConv-8e from the upcycled ImageNet
# MobileNetV2, the paper's one-stage recipe, 40 epochs) with the bases' seeds, to compare with them (their logs).
#   python tools/analysis/run_study.py tools/analysis/studies/demo_upcycle_trained_e1.py --jobs 2 --threads 1 --no-cost
work_dir = 'work_dirs/studies/demo_upcycle_trained_e1'
results_dir = 'docs/studies/demo_upcycle_trained_e1'
seeds = [0, 1, 2]

_static = 'configs/ssdlite/ssdlite_mobilenetv2-ft_1xb16-20e_demo.py'
_cc1 = 'configs/ssdlite/ssdlite_condconv1x-mobilenetv2-ft_1xb16-20e_demo.py'
_bases = (0, 1)
prepare = [
    dict(cmd='python tools/misc/make_demo_dataset.py --out data/demo',
         creates='data/demo/annotations/instances_val.json'),
    dict(cmd='python tools/model_converters/fetch_torchvision_mobilenetv2.py',
         creates='checkpoints/mobilenet_v2_torchvision_mmdet.pth'),
]
conditions = []
for _b in _bases:
    _base = f'work_dirs/demo_upcycle_trained/base_seed{_b}/epoch_40.pth'
    _cc1_ckpt = f'checkpoints/demo_static40e_seed{_b}_upcycled_condconv1.pth'
    _names = [f'{c}-ft20e-base{_b}' for c in ('static', 'cc1-both-upcycled')]
    prepare += [
        dict(cmd='python tools/train.py configs/ssdlite/ssdlite_mobilenetv2-imagenet_1xb16-40e_demo.py '
             f'--work-dir work_dirs/demo_upcycle_trained/base_seed{_b} --cfg-options randomness.seed={_b}',
             creates=_base, needed_by=_names),
        dict(cmd=f'python tools/model_converters/upcycle_static_to_condconv.py {_base} {_cc1_ckpt} --config {_cc1} '
             '--whole-detector', creates=_cc1_ckpt, needed_by=_names[1:]),
    ]
    conditions += [
        dict(name=_names[0], config=_static, cfg_options={'load_from': _base},
             note=f'the static demo detector trained 40 epochs with seed {_b}, 20 more epochs'),
        dict(name=_names[1], config=_cc1, cfg_options={'load_from': _cc1_ckpt},
             note='upcycled whole with E=1: the static kernels times a learned per-image gain'),
    ]
conditions.append(dict(
    name='cc8-imagenet-40e', config='configs/ssdlite/ssdlite_condconv8x-mobilenetv2-imagenet_1xb16-40e_demo.py',
    seeds=[0, 1], note='the former demo: CondConv-8e from ImageNet, 40 epochs (compare: the static bases, '
    'work_dirs/demo_upcycle_trained/base_seed{0,1}.log)'))
