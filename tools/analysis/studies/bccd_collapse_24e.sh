#!/usr/bin/env bash
# Issue 11, part 3: collapse the backbone routing of the 24-epoch cc8-both runs of bccd_collapse_24e.py and fine-tune.
# Per seed, from that run's config and checkpoint:
#   collapse: collapse_routing.py --tol $TOL (every routing module varying less than TOL across the val images becomes
#             a static convolution), tested as it is, then fine-tuned $EPOCHS epochs at $LR_FACTOR x the lr and tested;
#   control:  --tol 0 (nothing collapses) with the same fine-tuning: what the extra epochs alone give.
#   bash tools/analysis/studies/bccd_collapse_24e.sh 0 1 2      # after run_study.py ... bccd_collapse_24e.py
#   VARIANTS=collapse bash ... 0 & VARIANTS=collapse bash ... 1   # two seeds side by side (TOL, EPOCHS, LR_FACTOR too)
# Rows: docs/studies/bccd_collapse_24e/collapse.csv (one per seed and variant; a finished step is not re-run).
set -euo pipefail
TOL=${TOL:-5e-3}
EPOCHS=${EPOCHS:-4}
LR_FACTOR=${LR_FACTOR:-0.1}
STUDY=work_dirs/studies/bccd_collapse_24e/cc8-both
OUT=work_dirs/studies/bccd_collapse_24e/collapse
STATIC=configs/ssdlite/ssdlite_mobilenetv2-imagenet_1xb8-24e_bccd.py
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

for seed in "$@"; do
  run=$STUDY/seed$seed
  config=$run/cc8-both_seed$seed.py
  [ -f "$run/epoch_24.pth" ] || { echo "no $run/epoch_24.pth: run run_study.py on bccd_collapse_24e.py first" >&2; exit 1; }
  for variant in ${VARIANTS:-collapse control}; do
    tol=$TOL; [ "$variant" = control ] && tol=0
    dir=$OUT/${variant}_tol${tol}_ft${EPOCHS}e_lr${LR_FACTOR}/seed$seed
    collapsed=$dir/cc8-both_seed${seed}_collapsed.py
    mkdir -p "$dir"
    if [ ! -f "$dir/cc8-both_seed${seed}_collapse.json" ]; then
      python tools/deployment/collapse_routing.py "$config" "$run/epoch_24.pth" --calib-split val --tol "$tol" \
        --out "$dir" --static-config $STATIC --test --threads 1 --finetune-epochs "$EPOCHS" \
        --finetune-lr-factor "$LR_FACTOR" > "$dir/collapse.log" 2>&1
    fi
    if [ ! -f "$dir/ft/epoch_$EPOCHS.pth" ]; then
      python tools/train.py "$collapsed" --work-dir "$dir/ft" > "$dir/ft.log" 2>&1
    fi
    if [ ! -d "$dir/ft/test" ]; then
      python tools/test.py "$collapsed" "$dir/ft/epoch_$EPOCHS.pth" --work-dir "$dir/ft/test" > "$dir/ft_test.log" 2>&1
    fi
  done
done

python - "$OUT" docs/studies/bccd_collapse_24e/collapse.csv <<'PY'
import csv, glob, json, os, sys
out, csv_path = sys.argv[1:]
rows = []
for report in sorted(glob.glob(os.path.join(out, '*', 'seed*', '*_collapse.json'))):
    folder = os.path.dirname(report)
    with open(report) as file:
        result = json.load(file)
    figures = result['figures']
    tests = sorted(glob.glob(os.path.join(folder, 'ft', 'test', '*', '*.json')), key=os.path.getmtime)
    finetuned = json.load(open(tests[-1])) if tests else {}
    rows.append(dict(
        variant=os.path.basename(os.path.dirname(folder)), seed=int(os.path.basename(folder)[4:]), tol=result['tol'],
        collapsed_modules=sum(d['action'] == 'collapse' for d in result['decisions']),
        routing_modules=len(result['decisions']),
        params_M=round(figures['collapsed']['params'] / 1e6, 3),
        latency_original=round(figures['original']['latency_ratio_to_static'], 3),
        latency_collapsed=round(figures['collapsed']['latency_ratio_to_static'], 3),
        test_mAP_original=figures['original']['test']['coco/bbox_mAP'],
        test_mAP_collapsed=figures['collapsed']['test']['coco/bbox_mAP'],
        test_mAP_finetuned=finetuned.get('coco/bbox_mAP')))
os.makedirs(os.path.dirname(csv_path), exist_ok=True)
with open(csv_path, 'w', newline='') as file:
    writer = csv.DictWriter(file, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
for row in rows:
    print(row)
PY
