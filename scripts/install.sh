#!/usr/bin/env bash
# Create .venv and install every Tutorplane component (editable) with pinned versions.
# Idempotent: re-running only installs what changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "Tutorplane needs Python >= 3.11 (found: $("$PY" --version 2>&1)). Set PYTHON=/path/to/python3.11." >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$PY" -m venv .venv
stamp=.venv/.tutorplane-installed
inputs=$(cat constraints.txt requirements-dev.txt $(git ls-files '*pyproject.toml' 2>/dev/null || find . -name pyproject.toml -not -path './.venv/*') | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$inputs" ]; then
  exit 0
fi
.venv/bin/python -m pip install -q --upgrade "pip>=24"
.venv/bin/python -m pip install -q -c constraints.txt -r requirements-dev.txt \
  -e shared/common -e shared/db -e shared/emulators -e shared/guardrail -e shared/routing \
  -e shared/devstack -e services/guardrail -e services/gateway -e services/agent -e operator
echo "$inputs" > "$stamp"
echo "installed Tutorplane into .venv"
