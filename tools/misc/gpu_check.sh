#!/usr/bin/env bash
# The CUDA check, for a machine with a GPU (under 8 minutes on one GPU; never run here: this project's machines have
# none). Runs, on CUDA:
#   1. the device-parametrised tests (`device` = cuda, tests/conftest.py): every strategy vs the per-example
#      reference (outputs and gradients), channels_last, the backbones' static twins, the upcycling identity, and the
#      CondConv SSDLite training step, fp16 autocast (50 steps, routing float32) and channels_last;
#   2. tools/analysis/benchmark_condconv.py --device cuda (CondConv auto vs static vs the grouped trick, per layer);
#   3. tools/analysis/benchmark_detector.py --device cuda, static vs CondConv-8e SSDLite-MobileNetV2 at 320x320
#      (batch-1 latency, batch-16 training step, peak memory), once with `auto` and once with every CondConv forced
#      to the grouped trick; then batch-32 training with `auto`;
# and prints one summary. Full logs: work_dirs/gpu_check/ (or $1).
#
#   bash tools/misc/gpu_check.sh [LOG_DIR]
#   GPU_CHECK_DEVICE=cpu GPU_CHECK_REPEATS=2 GPU_CHECK_TIME_SCALE=5 bash tools/misc/gpu_check.sh
#       the same steps on the CPU with 5x the time limits: tries the script where there is no GPU
#
# Environment: PYTHON (default .venv/bin/python, else python3) must have a CUDA torch, mmcv built for it, mmdet and
# this plugin (README, "Install as a package"). Exit status: 0 when every step ran and the tests passed.
set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$REPO"
if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
DEVICE="${GPU_CHECK_DEVICE:-cuda}"
REPEATS="${GPU_CHECK_REPEATS:-50}"
LOG_DIR="${1:-work_dirs/gpu_check}"
mkdir -p "$LOG_DIR"
: > "$LOG_DIR/steps.txt"
START=$SECONDS
STATUS=0

if [ "$DEVICE" = cuda ]; then
  "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' || {
    echo "gpu_check: torch.cuda.is_available() is False for $PYTHON; nothing to check" >&2
    exit 2
  }
  "$PYTHON" -c 'import torch; print("gpu_check:", torch.cuda.get_device_name(0), "torch", torch.__version__,
    "cuda", torch.version.cuda)' > "$LOG_DIR/device.txt"
else
  "$PYTHON" -c 'import torch; print("gpu_check: device", "'"$DEVICE"'", "torch", torch.__version__)' \
    > "$LOG_DIR/device.txt"
fi
cat "$LOG_DIR/device.txt"

run() {  # run NAME TIMEOUT_S COMMAND...: log to $LOG_DIR/NAME.txt, remember failures
  local name="$1" limit=$(($2 * ${GPU_CHECK_TIME_SCALE:-1}))
  shift 2
  local begin=$SECONDS
  timeout "$limit" "$@" > "$LOG_DIR/$name.txt" 2>&1
  local rc=$?
  echo "gpu_check: $name: exit $rc in $((SECONDS - begin)) s" | tee -a "$LOG_DIR/steps.txt"
  [ "$rc" -eq 0 ] || STATUS=1
}

SSDLITE_A=configs/ssdlite/ssdlite_mobilenetv2-imagenet_1xb8-12e_bccd.py
SSDLITE_B=configs/ssdlite/ssdlite_condconv8x-mobilenetv2-imagenet-lrmatched_1xb8-12e_bccd.py
DETECTOR=(tools/analysis/benchmark_detector.py "$SSDLITE_A" "$SSDLITE_B" --device "$DEVICE" --shape 320 320
          --repeats "$REPEATS" --train-repeats $((REPEATS / 2 + 1)) --warmup 3)
# time limits (s) add up to 7.5 minutes
run tests 200 "$PYTHON" -m pytest -q -rs -p no:cacheprovider -k "$DEVICE" \
  tests/layers/test_cond_conv2d_strategies.py tests/layers/test_cond_conv2d_layer.py \
  tests/models/test_backbones/test_cond_conv_backbones.py tests/models/test_utils/test_upcycle.py \
  tests/models/test_condconv_ssdlite_on_devices.py
run benchmark_condconv 70 "$PYTHON" tools/analysis/benchmark_condconv.py --device "$DEVICE" --experts 8 \
  --batch 1 16 --repeats $((REPEATS / 2 + 1))
run detector_auto_b16 70 "$PYTHON" "${DETECTOR[@]}" --train-batch 16
run detector_grouped_b16 70 "$PYTHON" "${DETECTOR[@]}" --train-batch 16 --strategy-b grouped
run detector_auto_b32 40 "$PYTHON" "${DETECTOR[@]}" --train-batch 32 --no-memory

echo
echo "================================ gpu_check summary ================================"
cat "$LOG_DIR/device.txt" "$LOG_DIR/steps.txt"
echo "(exit 124: the step ran out of its time limit)"
"$PYTHON" - "$LOG_DIR" <<'PY'
import re
import sys
from pathlib import Path

logs = Path(sys.argv[1])


def text(name):
    path = logs / f'{name}.txt'
    return path.read_text(errors='replace') if path.exists() else ''


tests = [line for line in text('tests').splitlines() if re.search(r'\d+ (passed|failed|error)', line)]
print('tests:', tests[-1].strip('= ') if tests else 'no pytest summary (see tests.txt)')
layer = text('benchmark_condconv')
print('CondConv layer, E=8, geometric means over the MobileNet shapes (auto/static: lower is better):')
for line in layer[layer.find('geometric means'):].splitlines()[1:]:
    if line.startswith(('mobilenet', 'resnet')):
        print('  ' + line)
print('SSDLite-MobileNetV2 320x320, CondConv-8e / static (GPU targets: latency and training step <= 1.15):')
for run in ('detector_auto_b16', 'detector_grouped_b16', 'detector_auto_b32'):
    log = text(run)
    ratios = {}
    for line in log[log.find('ratios B/A'):].splitlines()[1:]:
        match = re.match(r'^(\S.*?\))\s+([\d.]+)', line)
        if match:
            ratios[match.group(1)] = float(match.group(2))
    latency = ratios.get('batch-1 latency, median (ms)')
    train = next((v for k, v in ratios.items() if 'train step, median' in k), None)
    memory = next((v for k, v in ratios.items() if k.startswith('peak training memory')), None)
    cells = []
    for label, value, target in (('batch-1 latency', latency, 1.15), ('training step', train, 1.15),
                                 ('peak training memory', memory, None)):
        if value is None:
            cells.append(f'{label} n/a')
        else:
            verdict = '' if target is None else (' met' if value <= target else ' NOT met')
            cells.append(f'{label} {value:.3f}{verdict}')
    print(f'  {run}: ' + ', '.join(cells))
PY
echo "logs: $LOG_DIR   total: $((SECONDS - START)) s   status: $([ $STATUS -eq 0 ] && echo OK || echo FAILED)"
exit $STATUS
