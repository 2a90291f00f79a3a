#!/usr/bin/env bash
# Train on a Slurm cluster, mmdet style: one task per GPU, mmengine's slurm launcher reads SLURM_PROCID/NTASKS/
# NODELIST and sets up the process group (nccl) itself.
#   [GPUS=16 GPUS_PER_NODE=8 CPUS_PER_TASK=5 SRUN_ARGS="..." PORT=29500] \
#     bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [extra args of tools/train.py]
# e.g. 2 nodes x 8 GPUs:  GPUS=16 bash tools/slurm_train.sh gpu ssdlite configs/ssdlite/<config>.py work_dirs/ssdlite
# Rank 0's node (first in SLURM_NODELIST) is the rendezvous host; PORT (default 29500) must be free there.
# Without Slurm, use torchrun on every node instead (see docs/reliability.md):
#   NNODES=2 NODE_RANK=0|1 MASTER_ADDR=<node0> PORT=29500 bash tools/dist_train.sh CONFIG 8
set -euo pipefail
if [ $# -lt 4 ]; then
  echo "usage: bash tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [tools/train.py args]" >&2
  exit 2
fi
PARTITION=$1
JOB_NAME=$2
CONFIG=$3
WORK_DIR=$4
GPUS=${GPUS:-8}
GPUS_PER_NODE=${GPUS_PER_NODE:-$(( GPUS < 8 ? GPUS : 8 ))}
CPUS_PER_TASK=${CPUS_PER_TASK:-5}
SRUN_ARGS=${SRUN_ARGS:-""}
PYTHON=${PYTHON:-python}
export PORT=${PORT:-29500}
export PYTHONPATH="$(cd "$(dirname "$0")/.." && pwd)${PYTHONPATH:+:$PYTHONPATH}"
# shellcheck disable=SC2086  # SRUN_ARGS is a list of words on purpose
srun -p "$PARTITION" --job-name="$JOB_NAME" --gres=gpu:"$GPUS_PER_NODE" --ntasks="$GPUS" \
  --ntasks-per-node="$GPUS_PER_NODE" --cpus-per-task="$CPUS_PER_TASK" --kill-on-bad-exit=1 $SRUN_ARGS \
  "$PYTHON" -u "$(dirname "$0")/train.py" "$CONFIG" --work-dir="$WORK_DIR" --launcher=slurm "${@:5}"
