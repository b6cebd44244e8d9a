"""The CLI starts at once: --help and validate import nothing they don't use (issue 11)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
from click.testing import CliRunner

from deploy.cli import LAZY_COMMANDS, cli

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("flask", "werkzeug", "waitress", "requests", "moto", "parliament", "boto3", "botocore", "pyspark", "rich")


def modules_loaded_by(*args: str) -> set[str]:
    """Top-level packages imported by `deploy.py ARGS` in a fresh interpreter."""
    probe = ("import runpy, sys, json; sys.argv = ['deploy.py', *json.loads(sys.argv[1])]\n"
             "try:\n    runpy.run_path('deploy/deploy.py', run_name='__main__')\n"
             "except SystemExit:\n    pass\n"
             "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})), file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", probe, json.dumps(args)], cwd=REPO, capture_output=True, text=True, timeout=120)
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def test_help_imports_no_heavy_library():
    loaded = modules_loaded_by("--help")
    assert "click" in loaded
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_a_subcommands_help_loads_only_its_subsystem():
    loaded = modules_loaded_by("plan", "--help")
    assert not loaded & {"flask", "werkzeug", "waitress", "requests", "moto", "parliament", "boto3"}


def test_validate_imports_neither_the_webhook_receiver_nor_moto(tmp_path):
    loaded = modules_loaded_by("validate", "--config", "deploy/config/dev.json", "--region", "us-east-2", "--project-type", "fpac")
    assert not loaded & {"flask", "werkzeug", "waitress", "requests", "moto", "pyspark"}, sorted(loaded)


def test_lazy_commands_are_listed_with_their_own_help():
    for name, (module, attribute, short_help) in LAZY_COMMANDS.items():
        command = getattr(__import__(module, fromlist=[attribute]), attribute)
        assert isinstance(command, click.Command)
        assert command.get_short_help_str(1000) == short_help, name
    listing = CliRunner().invoke(cli, ["--help"]).output
    for name in LAZY_COMMANDS:
        assert f"  {name} " in listing


def test_a_lazy_command_runs():
    result = CliRunner().invoke(cli, ["route", "--help"])
    assert result.exit_code == 0 and "--bitbucket-event" in result.output
