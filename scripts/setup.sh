#!/usr/bin/env bash
# Create .venv (Python 3.11, the Glue 5 runtime's Python) and install the deployer with its local-AWS and test extras.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is required (the Glue 5 runtime); set PYTHON=/path/to/python3.11")'
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e ".[dev]"
command -v java >/dev/null || { echo "Java (11 or 17) is required by local Spark for the Glue jobs: apt-get install -y openjdk-17-jre-headless" >&2; exit 1; }
