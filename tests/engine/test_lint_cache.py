"""IAM lint results are cached by policy digest: an unchanged policy is never linted twice (issue 11)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import parliament
import pytest

from deploy.common import iam_policies
from deploy.common.errors import ProjectError
from deploy.common.iam_policies import check_policies, findings, policy, statement

REPO = Path(__file__).resolve().parents[2]
WILDCARD = policy(statement("All", ["s3:GetObject"], "*"))
SCOPED = policy(statement("Read", ["s3:GetObject"], ["arn:aws:s3:::bucket/key"]))


@pytest.fixture
def counted(monkeypatch, tmp_path):
    """The cache in a fresh folder, and a count of parliament's analyses."""
    monkeypatch.setenv(iam_policies.CACHE_ENV, str(tmp_path))
    calls = []
    real = parliament.analyze_policy_string

    def counting(text, **kwargs):
        calls.append(text)
        return real(text, **kwargs)

    monkeypatch.setattr(parliament, "analyze_policy_string", counting)
    return calls


def test_an_unchanged_policy_is_linted_once_and_gives_the_same_findings(counted):
    first = findings(WILDCARD)
    second = findings(WILDCARD)
    assert len(counted) == 1
    assert first == second and {f.issue for f in first} == {"RESOURCE_STAR"}


def test_a_changed_policy_or_other_auditors_are_linted_again(counted):
    findings(SCOPED)
    findings(SCOPED, community=True)
    findings(policy(statement("Read", ["s3:GetObject"], ["arn:aws:s3:::bucket/other"])))
    assert len(counted) == 3


def test_a_cached_finding_still_fails_the_check(counted):
    with pytest.raises(ProjectError, match="RESOURCE_STAR"):
        check_policies([("role", {"p": WILDCARD})])
    with pytest.raises(ProjectError, match="RESOURCE_STAR"):
        check_policies([("role", {"p": WILDCARD})])
    assert len(counted) == 1


def test_a_corrupt_cache_entry_is_linted_again(counted, tmp_path):
    findings(WILDCARD)
    for entry in (tmp_path / "iam-lint").iterdir():
        entry.write_text("{not json")
    assert {f.issue for f in findings(WILDCARD)} == {"RESOURCE_STAR"}
    assert len(counted) == 2


def test_off_disables_the_cache(counted, monkeypatch):
    monkeypatch.setenv(iam_policies.CACHE_ENV, "off")
    findings(SCOPED)
    findings(SCOPED)
    assert len(counted) == 2


def test_validate_with_a_warm_cache_never_imports_parliament(tmp_path):
    probe = ("import runpy, sys\nsys.argv = ['deploy.py', 'validate', '--config', 'deploy/config/dev.json', "
             "'--region', 'us-east-2', '--project-type', 'fpac']\n"
             "try:\n    runpy.run_path('deploy/deploy.py', run_name='__main__')\n"
             "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
             "print('parliament' in sys.modules, file=sys.stderr)")
    env = {**__import__("os").environ, iam_policies.CACHE_ENV: str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
            for _ in range(2)]
    assert [r.stderr.strip().splitlines()[-1] for r in runs] == ["True", "False"], [r.stderr[-500:] for r in runs]
    assert len(list((tmp_path / "iam-lint").glob("*.json"))) >= 9
