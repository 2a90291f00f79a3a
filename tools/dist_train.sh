#!/usr/bin/env bash
# Distributed train through torchrun and mmengine's launcher (gloo on CPU, nccl on GPU), as mmdet's dist_train.sh.
#   bash tools/dist_train.sh CONFIG NPROC [extra args of tools/train.py]
# Multi-node: NNODES=2 NODE_RANK=0|1 MASTER_ADDR=host PORT=29500 on every node.
set -euo pipefail
CONFIG=$1
NPROC=$2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
PYTHON=${PYTHON:-python}
EXTRA=()
# Without a GPU, mmengine's Runner calls torch.cuda.set_device and wraps DDP with a device id; condconv_det's
# CPUDDPRunner initialises gloo and wraps without one (it behaves as the plain Runner when a GPU is present).
if ! "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
  EXTRA=(--cfg-options runner_type=CPUDDPRunner)
fi
"$PYTHON" -m torch.distributed.run --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
  --nproc_per_node="$NPROC" --master_port="$PORT" "$(dirname "$0")/train.py" "$CONFIG" --launcher pytorch "${EXTRA[@]}" "${@:3}"
