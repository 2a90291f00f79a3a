#!/usr/bin/env bash
# Distributed test through torchrun and mmengine's launcher (gloo on CPU, nccl on GPU), as mmdet's dist_test.sh.
#   bash tools/dist_test.sh CONFIG CHECKPOINT NPROC [extra args of tools/test.py]
# Multi-node: NNODES=2 NODE_RANK=0|1 MASTER_ADDR=host PORT=29500 on every node.
set -euo pipefail
CONFIG=$1
CHECKPOINT=$2
NPROC=$3
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
PYTHON=${PYTHON:-python}
EXTRA=()
# Without a GPU: condconv_det's CPUDDPRunner (gloo, no device id); see dist_train.sh.
if ! "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
  EXTRA=(--cfg-options runner_type=CPUDDPRunner)
fi
"$PYTHON" -m torch.distributed.run --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
  --nproc_per_node="$NPROC" --master_port="$PORT" "$(dirname "$0")/test.py" "$CONFIG" "$CHECKPOINT" \
  --launcher pytorch "${EXTRA[@]}" "${@:4}"
