#!/usr/bin/env bash
# The test command: sets up the environment when missing (tools/setup_env.sh), then runs the whole suite.
#   bash tools/run_tests.sh [extra pytest args, e.g. -m "not slow" or -k ssd]
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${CONDCONV_VENV:-$REPO/.venv}"
bash "$REPO/tools/setup_env.sh"
cd "$REPO"
exec "$VENV/bin/python" -m pytest tests "$@"
