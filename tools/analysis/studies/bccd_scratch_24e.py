# The paper's own setting on BCCD (issue 11): static vs CondConv-8e SSDLite-MobileNetV2 320, both from random
# initialisation, 24 epochs (the longest schedule that fits a CPU session: ~18 min a run, two side by side).
#   python tools/analysis/run_study.py tools/analysis/studies/bccd_scratch_24e.py --jobs 2 --threads 1
work_dir = 'work_dirs/studies/bccd_scratch_24e'
results_dir = 'docs/studies/bccd_scratch_24e'
seeds = [0, 1]
prepare = [
    dict(cmd='python tools/dataset_converters/voc2coco.py ../shared/data/bccd/BCCD --out data/bccd '
         '--classes RBC WBC Platelets', creates='data/bccd/annotations/instances_test.json'),
]
conditions = [
    dict(name='static-scratch', config='configs/ssdlite/ssdlite_mobilenetv2_1xb8-24e_bccd.py'),
    dict(name='cc8-both-scratch', config='configs/ssdlite/ssdlite_condconv8x-mobilenetv2_1xb8-24e_bccd.py'),
    # Added after the first two conditions (CondConv trained slower: loss 2.46 vs 1.71): independent experts at
    # sigmoid routing r ~ 0.5 move the mixed kernel sum_i r_i^2 = E/4 = 2x as fast as a static kernel; lr x1/2 and
    # weight decay x2 give it the static kernel's SGD step and the same lr x decay.
    dict(name='cc8-both-scratch-lrmatched', config='configs/ssdlite/ssdlite_condconv8x-mobilenetv2_1xb8-24e_bccd.py',
         cfg_options={'optim_wrapper.constructor': 'CondConvOptimWrapperConstructor',
                      'optim_wrapper.paramwise_cfg': dict(condconv=dict(expert_lr_mult=0.5, expert_decay_mult=2.0))},
         note='expert lr x1/2, decay x2 (mixed-kernel step matched at r ~ 0.5)'),
]
