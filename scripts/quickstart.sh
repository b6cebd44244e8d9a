#!/usr/bin/env bash
# Set up, deploy fpac to the embedded local AWS, then run the sample file through the whole pipeline.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cd deploy
../.venv/bin/python deploy.py --config config/local.json --region us-east-2 --project-type fpac --yes
../.venv/bin/python deploy.py --config config/local.json --region us-east-2 --project-type fpac --yes   # again: No changes.
../.venv/bin/python deploy.py run --config config/local.json --region us-east-2 --project-type fpac \
    --input projects/fpac_pipeline/sample_data/fpac_payments_good.csv
echo "The local AWS keeps running for the next command; stop it with: cd deploy && ../.venv/bin/python deploy.py local stop"
