#!/usr/bin/env bash
# The deployer's unit tests (engine, delivery) on Python 3.13 too: Jenkins agents differ. Local Spark stays on 3.11
# (the Glue 5 runtime), so the integration and pipeline tests run on 3.11 only (scripts/test.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

find_python313() {
    # A pyenv shim answers `command -v` even when 3.13 is not enabled, so a candidate must actually run.
    local candidate
    for candidate in "${PY313:-}" "$(command -v python3.13 2>/dev/null || true)" \
        "$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")"/versions/3.13*/bin/python3.13; do
        if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" -c 'import sys; assert sys.version_info[:2] == (3, 13)' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

if ! PY313="$(find_python313)"; then
    echo "Python 3.13 not found (set PY313=/path/to/python3.13): the unit tests on 3.13 did NOT run" >&2
    exit 1
fi
echo "unit tests on $("$PY313" --version)"
[ -x .venv313/bin/python ] || "$PY313" -m venv .venv313
.venv313/bin/python -m pip install --quiet --upgrade pip
.venv313/bin/python -m pip install --quiet -e ".[test]"
.venv313/bin/python -m pytest -q -p no:cacheprovider tests/engine tests/delivery
