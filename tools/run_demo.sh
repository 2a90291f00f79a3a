#!/usr/bin/env bash
# The demo: set up the environment if needed, generate the demo dataset if missing, train with tools/train.py,
# evaluate the final checkpoint with tools/test.py (prints the COCO bbox mAP table).
#   bash tools/run_demo.sh [CONFIG] [extra tools/train.py args]
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CONDCONV_VENV:-$REPO/.venv}"
CONFIG="${1:-configs/ssdlite/ssdlite_condconv-mobilenetv2-8e_1xb16-30e_demo.py}"
shift || true
NAME="$(basename "$CONFIG" .py)"
WORK_DIR="${WORK_DIR:-work_dirs/$NAME}"

cd "$REPO"
bash tools/setup_env.sh
PY="$VENV/bin/python"
"$PY" tools/misc/make_demo_dataset.py --out data/demo
start=$(date +%s)
"$PY" tools/train.py "$CONFIG" --work-dir "$WORK_DIR" "$@"
CKPT="$(cat "$WORK_DIR/last_checkpoint")"
"$PY" tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK_DIR/test"
echo "[run_demo] trained and evaluated $CONFIG in $(( $(date +%s) - start )) s; checkpoint $CKPT"
