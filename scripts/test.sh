#!/usr/bin/env bash
# Set up, lint the Jenkinsfile, and run the whole test suite (the command CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# The IAM policy evaluator the deployer-policy tests use (tests/iam_evaluator.py): Node >= 20, versions pinned by the lock file.
command -v npm >/dev/null || { echo "Node.js 20+ and npm are required by the IAM policy tests: apt-get install -y nodejs npm" >&2; exit 1; }
npm ci --prefix tests/iam_simulate --no-audit --no-fund --loglevel=error
.venv/bin/python deploy/deploy.py schema --check
bash .ci/lint_jenkinsfile.sh
bash .ci/lint_jenkinsfile.sh jenkins/operations.Jenkinsfile
.venv/bin/python -m pytest "$@"
scripts/test_newer_python.sh
