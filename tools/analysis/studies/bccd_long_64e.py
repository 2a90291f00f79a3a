# Issue 11: does a longer schedule make CondConv pay on BCCD? The held-back aerial set's lr-matched upcycled recipe
# beat static by 2.3 mAP at 64 epochs (2 seeds) while its backbone never routed; on BCCD at 24 epochs the two tie
# (bccd_final_24e.py). Static vs cc8-both (and the head-only placement) at 64 epochs (1664 iterations, the same cosine
# schedule stretched), same ImageNet initialisation and data.
#   python tools/analysis/run_study.py tools/analysis/studies/bccd_long_64e.py --jobs 2 --threads 1 --only static cc8-both
# 46-49 min a run, two side by side on an idle machine (69-75 beside other work); results.csv is the resume state.
#   python tools/analysis/run_study.py tools/analysis/studies/bccd_long_64e.py --jobs 3 --threads 1 --only cc8-head
# cc8-head: 61 min a run, three side by side on an idle machine.
work_dir = 'work_dirs/studies/bccd_long_64e'
results_dir = 'docs/studies/bccd_long_64e'
seeds = [0, 1, 2]

_base_ = './bccd_collapse_24e.py'  # its `prepare` steps: the BCCD conversion and the upcycled checkpoint
_epochs = {'train_cfg.max_epochs': 64, 'train_cfg.val_interval': 64, 'default_hooks.checkpoint.interval': 64}
conditions = [
    dict(name='static', config='configs/ssdlite/ssdlite_mobilenetv2-imagenet_1xb8-24e_bccd.py', cfg_options=_epochs),
    dict(name='cc8-both', config='configs/ssdlite/ssdlite_condconv8x-mobilenetv2-imagenet-lrmatched_1xb8-24e_bccd.py',
         cfg_options=_epochs, note="today's default recipe (upcycled, lr-matched, expert noise 0.1)"),
    dict(name='cc8-head', config='configs/ssdlite/ssdlite_mobilenetv2-imagenet_1xb8-24e_bccd.py',
         cfg_options={**_epochs, 'model.bbox_head.num_experts': 8},
         note='placement: static ImageNet backbone, CondConv-8e head towers only'),
]
