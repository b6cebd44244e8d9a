#!/usr/bin/env python3
"""CLI start-up: `deploy.py --help` against a bare `python -c "import click"`, and `validate` with a cold and a warm
IAM lint cache, each a whole process, medians over the rounds taken interleaved in this run. The package is
byte-compiled first, as `pip install` leaves it (this machine sets PYTHONDONTWRITEBYTECODE, so nothing else would).

    .venv/bin/python benchmarks/cli_startup.py [--rounds 7]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VALIDATE = ["deploy/deploy.py", "validate", "--config", "deploy/config/dev.json", "--region", "us-east-2",
            "--project-type", "fpac"]


def seconds(argv: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, *argv], cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    rounds = parser.parse_args().rounds
    # As installed (pip compiles the package): bytecode written once, so no round pays for compiling the CLI.
    subprocess.run([sys.executable, "-m", "compileall", "-q", "deploy"], cwd=REPO, check=True)
    figures: dict[str, list[float]] = {"click": [], "help": [], "validate cold": [], "validate warm": []}
    with tempfile.TemporaryDirectory() as cache:
        for index in range(rounds):
            figures["click"].append(seconds(["-c", "import click"]))
            figures["help"].append(seconds(["deploy/deploy.py", "--help"]))
            cold = {**os.environ, "PIPELINE_DEPLOYER_CACHE": os.path.join(cache, f"cold{index}")}
            figures["validate cold"].append(seconds(VALIDATE, cold))
            warm = {**os.environ, "PIPELINE_DEPLOYER_CACHE": os.path.join(cache, "warm")}
            seconds(VALIDATE, warm) if index == 0 else None  # fills the warm cache once
            figures["validate warm"].append(seconds(VALIDATE, warm))
    median = {name: statistics.median(values) for name, values in figures.items()}
    for name, value in median.items():
        print(f"{name:>14}: {value * 1000:7.0f} ms (median of {rounds})")
    print(f"--help / (python + import click): {median['help'] / median['click']:.2f}x  (goal <= 1.2x)")
    print(f"validate warm / cold lint cache:   {median['validate warm'] / median['validate cold']:.2f}x")


if __name__ == "__main__":
    main()
