#!/usr/bin/env bash
# Yardstick: AWS Chalice deploying 3 Lambda functions to the same local AWS, twice.
# Installs chalice into a throw-away venv (not a project dependency), prints calls and writes per deploy.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
work="$(mktemp -d)"
trap 'PIPELINE_DEPLOYER_LOCAL_DIR="$work/local-aws" "$repo/.venv/bin/python" "$repo/deploy/deploy.py" local stop >/dev/null; rm -rf "$work"' EXIT
python3.11 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet "chalice==1.34.0"
cp -r "$here/chalice_app" "$work/app"
export PIPELINE_DEPLOYER_LOCAL_DIR="$work/local-aws"
endpoint="$("$repo/.venv/bin/python" -c 'from deploy.local_aws.manager import ensure_running; print(ensure_running())')"
cd "$work/app"
export AWS_ENDPOINT_URL="$endpoint" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=us-east-2
"$work/venv/bin/python" "$here/chalice_count.py" deploy >/dev/null
"$work/venv/bin/python" "$here/chalice_count.py" deploy >/dev/null   # no-op redeploy
