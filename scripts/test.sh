#!/usr/bin/env bash
# Set up, lint the Jenkinsfile, and run the whole test suite (the command CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/python deploy/deploy.py schema --check
bash .ci/lint_jenkinsfile.sh
.venv/bin/python -m pytest "$@"
