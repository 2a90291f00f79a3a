#!/usr/bin/env bash
# Issue 11, part 3: collapse the backbone routing of the cc8-both runs of a study (default bccd_collapse_24e.py, 24
# epochs; STUDY=bccd_long_64e TRAINED=64 for the 64-epoch ones) and fine-tune. Per seed, from that run's config and
# checkpoint:
#   collapse: collapse_routing.py --tol $TOL (every routing module varying less than TOL across the val images becomes
#             a static convolution), tested as it is, then fine-tuned $EPOCHS epochs at $LR_FACTOR x the lr and tested;
#   control:  --tol 0 (nothing collapses) with the same fine-tuning: what the extra epochs alone give.
#   bash tools/analysis/studies/bccd_collapse.sh 0 1 2      # after run_study.py ... bccd_collapse_24e.py
#   VARIANTS=collapse bash ... 0 & VARIANTS=collapse bash ... 1   # two seeds side by side (TOL, EPOCHS, LR_FACTOR too)
#   FT_SEEDS="0 1" bash ... 0     # fine-tune the same collapsed model with several seeds: the fine-tuning's own noise
# Rows: docs/studies/$STUDY/collapse.csv (one per seed, variant and fine-tune seed; a finished step is not re-run;
# rows whose work dirs are gone are kept).
set -euo pipefail
TOL=${TOL:-5e-3}
EPOCHS=${EPOCHS:-4}
LR_FACTOR=${LR_FACTOR:-0.1}  # the 24-epoch rows' setting; collapse_routing.py's own default is now 1.0
STUDY=${STUDY:-bccd_collapse_24e}
TRAINED=${TRAINED:-24}
RUNS=work_dirs/studies/$STUDY/cc8-both
OUT=work_dirs/studies/$STUDY/collapse
STATIC=configs/ssdlite/ssdlite_mobilenetv2-imagenet_1xb8-24e_bccd.py
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

for seed in "$@"; do
  run=$RUNS/seed$seed
  config=$run/cc8-both_seed$seed.py
  [ -f "$run/epoch_$TRAINED.pth" ] || { echo "no $run/epoch_$TRAINED.pth: run run_study.py on $STUDY.py first" >&2; exit 1; }
  for variant in ${VARIANTS:-collapse control}; do
    tol=$TOL; [ "$variant" = control ] && tol=0
    dir=$OUT/${variant}_tol${tol}_ft${EPOCHS}e_lr${LR_FACTOR}/seed$seed
    collapsed=$dir/cc8-both_seed${seed}_collapsed.py
    mkdir -p "$dir"
    if [ ! -f "$dir/cc8-both_seed${seed}_collapse.json" ]; then
      python tools/deployment/collapse_routing.py "$config" "$run/epoch_$TRAINED.pth" --calib-split val --tol "$tol" \
        --out "$dir" --static-config $STATIC --test --threads 1 --finetune-epochs "$EPOCHS" \
        --finetune-lr-factor "$LR_FACTOR" > "$dir/collapse.log" 2>&1
    fi
    for ft_seed in ${FT_SEEDS:-$seed}; do  # the fine-tune's own seed (default: the run's); ft/ is the run's seed
      ft=$dir/ft; [ "$ft_seed" = "$seed" ] || ft=$dir/ft_seed$ft_seed
      if [ ! -f "$ft/epoch_$EPOCHS.pth" ]; then
        python tools/train.py "$collapsed" --work-dir "$ft" --cfg-options randomness.seed="$ft_seed" \
          > "$ft.log" 2>&1
      fi
      if [ ! -d "$ft/test" ]; then
        python tools/test.py "$collapsed" "$ft/epoch_$EPOCHS.pth" --work-dir "$ft/test" > "${ft}_test.log" 2>&1
      fi
    done
  done
done

python - "$OUT" docs/studies/$STUDY/collapse.csv <<'PY'
import glob, json, os, sys
sys.path.insert(0, 'tools/analysis')
from run_study import test_metrics  # the newest tools/test.py metrics under a work dir
from condconv_det.analysis.study import read_rows, write_rows
out, csv_path = sys.argv[1:]
rows = []
for report in sorted(glob.glob(os.path.join(out, '*', 'seed*', '*_collapse.json'))):
    folder = os.path.dirname(report)
    with open(report) as file:
        result = json.load(file)
    figures = result['figures']
    seed = int(os.path.basename(folder)[4:])
    fine_tunes = {int(path.rsplit('ft_seed', 1)[1]): path
                  for path in glob.glob(os.path.join(folder, 'ft_seed*')) if os.path.isdir(path)}
    if os.path.isdir(os.path.join(folder, 'ft')) or not fine_tunes:  # ft/: the run's seed (a row even before it ran)
        fine_tunes[seed] = os.path.join(folder, 'ft')
    for ft_seed, ft in sorted(fine_tunes.items()):
        finetuned = test_metrics(os.path.join(ft, 'test'))
        rows.append(dict(
            variant=os.path.basename(os.path.dirname(folder)), seed=seed, finetune_seed=ft_seed, tol=result['tol'],
            collapsed_modules=sum(d['action'] == 'collapse' for d in result['decisions']),
            routing_modules=len(result['decisions']),
            params_M=round(figures['collapsed']['params'] / 1e6, 3),
            latency_original=round(figures['original']['latency_ratio_to_static'], 3),
            latency_collapsed=round(figures['collapsed']['latency_ratio_to_static'], 3),
            test_mAP_original=figures['original']['test']['coco/bbox_mAP'],
            test_mAP_collapsed=figures['collapsed']['test']['coco/bbox_mAP'],
            test_mAP_finetuned=finetuned.get('coco/bbox_mAP')))


def key(row):
    return row['variant'], int(row['seed']), int(row['finetune_seed'])


# Rows of earlier sessions whose work dirs are gone stay; a step measured again replaces its row.
merged = {key(row): row for row in read_rows(csv_path)}
merged.update({key(row): row for row in rows})
if not merged:
    sys.exit(f'no collapse results under {out}')
write_rows(csv_path, [merged[k] for k in sorted(merged)], columns=list(next(iter(merged.values()))))
for row in rows:
    print(row)
PY
