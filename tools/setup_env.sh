#!/usr/bin/env bash
# One-command environment for condconv_det: a virtualenv with the verified OpenMMLab stack (CPU).
#
#   bash tools/setup_env.sh            # creates/updates .venv; a second run takes seconds
#
# Environment variables:
#   CONDCONV_VENV   venv path (default: <repo>/.venv)
#   PYTHON          interpreter used to create the venv (default: python3.11, else python3)
#   XDG_CACHE_HOME  the mmcv wheel is cached in ${XDG_CACHE_HOME:-$HOME/.cache}/condconv_det/wheels/<py>-torch<ver>/
#   MMCV_WHEEL      use this prebuilt mmcv 2.1.0 wheel instead of building one
#
# Why mmcv is built here: mmdet 3.3.0 needs mmcv>=2.0,<2.2 *with* compiled ops (42 mmdet modules import mmcv.ops);
# PyPI has no CPU wheel of mmcv 2.1.0 for torch 2.13, so we build the sdist once (13-20 min on 2 cores, ~5 GB RAM),
# strip its debug symbols and cache it outside the clone, keyed by python and torch versions. pip's own wheel cache
# is bypassed on purpose: it would silently reuse a wheel built against another torch.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CONDCONV_VENV:-$REPO/.venv}"
CONSTRAINTS="$REPO/requirements/constraints.txt"
TORCH_VERSION="2.13.0"
MMCV_VERSION="2.1.0"

log() { printf '[setup_env] %s\n' "$*"; }
die() { printf '[setup_env] ERROR: %s\n' "$*" >&2; exit 1; }

if [ -z "${PYTHON:-}" ]; then
  if command -v python3.11 >/dev/null 2>&1; then PYTHON=python3.11; else PYTHON=python3; fi
fi
command -v "$PYTHON" >/dev/null 2>&1 || die "no Python interpreter '$PYTHON'; set PYTHON=/path/to/python3.11"
PYVER="$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')"
[ "$PYVER" = "3.11" ] || log "warning: the stack was verified on Python 3.11, this is $PYVER"

# The stamp records what this venv was built from; equal stamp + working imports = nothing to do.
STAMP_FILE="$VENV/.condconv_det_stamp"
STAMP="$(cat "$CONSTRAINTS" "$REPO/tools/setup_env.sh" "$REPO/setup.cfg" "$REPO/pyproject.toml" | sha256sum | cut -d' ' -f1)"
verify() {
  "$VENV/bin/python" - <<'PY'
import mmcv, mmcv.ops, mmdet, mmengine, torch  # noqa: F401  mmcv.ops proves the compiled ops are there
import condconv_det  # noqa: F401
from mmcv.ops import nms  # a compiled op, called once
import torch
boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.]])
nms(boxes, torch.tensor([0.9, 0.8]), 0.5)
print(f'[setup_env] torch {torch.__version__}, mmengine {mmengine.__version__}, mmcv {mmcv.__version__} (ops), '
      f'mmdet {mmdet.__version__}, condconv_det {condconv_det.__version__}')
PY
}
if [ -f "$STAMP_FILE" ] && [ "$(cat "$STAMP_FILE")" = "$STAMP" ] && verify 2>/dev/null; then
  log "environment up to date: $VENV"
  exit 0
fi

[ -x "$VENV/bin/python" ] || { log "creating venv $VENV"; "$PYTHON" -m venv "$VENV"; }
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
export PIP_NO_INPUT=1

# 1. torch first, pinned (an unpinned torch pulls a multi-GB CUDA build), with the build tools mmcv needs.
log "installing torch==$TORCH_VERSION and build tools"
"${PIP[@]}" install -q -c "$CONSTRAINTS" "torch==$TORCH_VERSION" 'setuptools>=77.0.3,<81' wheel ninja numpy

# 2. The rest of the stack. mmengine-lite is mmengine without the GUI opencv-python; headless opencv replaces it.
log "installing mmengine-lite, mmdet and friends"
"${PIP[@]}" install -q -c "$CONSTRAINTS" mmengine-lite opencv-python-headless mmdet pycocotools matplotlib \
  scipy shapely terminaltables addict yapf pillow pyyaml packaging tqdm rich termcolor pytest hypothesis \
  onnx onnxruntime onnxscript onnx-ir

# 3. mmcv with compiled ops, from the wheel cache or built once.
TORCH_TAG="$("$VENV/bin/python" -c 'import torch; print(torch.__version__.split("+")[0])')"
CACHE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/condconv_det/wheels/py${PYVER}-torch${TORCH_TAG}"
mkdir -p "$CACHE_DIR"
if ! "$VENV/bin/python" -c "import mmcv, mmcv.ops; assert mmcv.__version__ == '$MMCV_VERSION'" 2>/dev/null; then
  WHEEL="${MMCV_WHEEL:-}"
  [ -n "$WHEEL" ] || WHEEL="$(ls "$CACHE_DIR"/mmcv-"$MMCV_VERSION"-*.whl 2>/dev/null | head -n1 || true)"
  if [ -z "$WHEEL" ]; then
    log "building mmcv==$MMCV_VERSION with compiled ops (13-20 minutes on 2 cores; cached afterwards in $CACHE_DIR)"
    BUILD="$(mktemp -d)"
    trap 'rm -rf "$BUILD"' EXIT
    "${PIP[@]}" download -q --no-deps --no-binary :all: "mmcv==$MMCV_VERSION" -d "$BUILD/src"
    MMCV_WITH_OPS=1 FORCE_CUDA=0 MAX_JOBS="${MAX_JOBS:-$(nproc)}" \
      "${PIP[@]}" wheel -q --no-cache-dir --no-build-isolation --no-deps "$BUILD"/src/mmcv-*.tar.gz -w "$BUILD/raw"
    # Strip debug symbols (about 32 MB -> 1.4 MB); `wheel pack` rewrites RECORD with the new hashes.
    "$VENV/bin/python" -m wheel unpack "$BUILD"/raw/mmcv-*.whl -d "$BUILD/unpacked" >/dev/null
    find "$BUILD/unpacked" -name '*.so' -exec strip --strip-debug {} +
    "$VENV/bin/python" -m wheel pack "$BUILD"/unpacked/mmcv-"$MMCV_VERSION" -d "$CACHE_DIR" >/dev/null
    WHEEL="$(ls "$CACHE_DIR"/mmcv-"$MMCV_VERSION"-*.whl | head -n1)"
    log "cached $WHEEL ($(du -h "$WHEEL" | cut -f1))"
  else
    log "using cached mmcv wheel $WHEEL"
  fi
  # --no-deps: mmcv asks for `mmengine` and `opencv-python`; mmengine-lite and opencv-python-headless provide them.
  "${PIP[@]}" install -q --no-deps --force-reinstall "$WHEEL"
fi

# 4. The plugin itself, editable, so `custom_imports=['condconv_det']` finds it from any working directory.
log "installing condconv_det (editable)"
"${PIP[@]}" install -q --no-deps --no-build-isolation -e "$REPO"

verify || die "the environment does not import; see the messages above"
echo "$STAMP" > "$STAMP_FILE"
log "done: activate with 'source $VENV/bin/activate'"
