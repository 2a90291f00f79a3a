# Issue 11, part 3 at 24 epochs: train the default CondConv recipe (cc8-both: upcycled, lr-matched CondConv-8e
# backbone + head towers, expert noise 0.1) for 3 seeds, then collapse its backbone routing and fine-tune
# (tools/analysis/studies/bccd_collapse.sh runs both steps; results in docs/studies/bccd_collapse_24e/).
#   python tools/analysis/run_study.py tools/analysis/studies/bccd_collapse_24e.py --jobs 2 --threads 1 --no-cost
# The runs repeat bccd_final_24e.py's cc8-both runs (same config and seeds), whose checkpoints did not survive.
work_dir = 'work_dirs/studies/bccd_collapse_24e'
results_dir = 'docs/studies/bccd_collapse_24e'
seeds = [0, 1, 2]

prepare = [
    dict(cmd='python tools/dataset_converters/voc2coco.py ../shared/data/bccd/BCCD --out data/bccd '
         '--classes RBC WBC Platelets', creates='data/bccd/annotations/instances_test.json'),
    dict(cmd='python tools/model_converters/fetch_torchvision_mobilenetv2.py',
         creates='checkpoints/mobilenet_v2_torchvision_condconv8_noise0.1.pth'),
]
conditions = [
    dict(name='cc8-both', config='configs/ssdlite/ssdlite_condconv8x-mobilenetv2-imagenet-lrmatched_1xb8-24e_bccd.py',
         note="today's default recipe (expert noise 0.1)"),
]
