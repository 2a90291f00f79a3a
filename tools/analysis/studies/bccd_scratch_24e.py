# The paper's own setting on BCCD (issue 11): static vs CondConv-8e SSDLite-MobileNetV2 320, both from random
# initialisation, 24 epochs (the longest schedule that fits a CPU session: ~25 min a run, two side by side).
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
]
