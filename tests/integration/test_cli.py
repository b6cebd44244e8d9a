"""The CLI as Jenkins uses it: plan exit codes 0/2/1, --output json, the account guard, the lock."""
from __future__ import annotations

import json

from click.testing import CliRunner

from deploy.cli import cli


def run(*args):
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def target(config):
    return ["--config", str(config), "--region", "us-east-2", "--project-type", "fpac"]


def test_plan_exit_codes_and_json_around_a_deploy(write_config, local_aws_client):
    config = write_config()
    code, out, err = run("plan", *target(config), "--output", "json")
    assert code == 2, err
    plan = json.loads(out)["plan"]
    assert plan["has_changes"] and plan["summary"]["create"] >= 37
    assert {c["action"] for c in plan["changes"]} == {"create"}
    assert local_aws_client("lambda").list_functions()["Functions"] == [], "plan must not write"

    code, out, err = run("deploy", *target(config), "--yes", "--output", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["result"]["ok"] and all(r["status"] == "done" for r in doc["result"]["results"])
    assert len(doc["result"]["results"]) == doc["plan"]["summary"]["create"], "the plan's count is the apply's"
    assert f"Apply complete! {doc['plan']['summary']['create']} added" in err
    assert "Apply complete!" in err  # people-facing progress goes to stderr in JSON mode

    code, out, err = run("plan", *target(config), "--output", "json")
    assert code == 0, err
    again = json.loads(out)["plan"]
    assert not again["has_changes"]
    assert {c["action"] for c in again["changes"]} == {"no-op"}
    assert all(c["changed_fields"] == [] for c in again["changes"])

    code, out, _ = run(*target(config), "--yes")  # no subcommand: deploy, as in the brief
    assert code == 0 and "No changes." in out


def test_plan_text_shows_field_changes_old_to_new(write_config):
    config = write_config()
    assert run("deploy", *target(config), "--yes")[0] == 0
    changed = write_config(lambda d: d["projects"]["fpac"]["glue_defaults"].update({"timeout_minutes": 45}), name="c.json")
    code, out, _ = run("plan", *target(changed))
    assert code == 2
    assert "~ glue_job fpac-itest-landing" in out
    assert "timeout_minutes: 30 → 45" in out
    # The workflow's Glue tasks wait for their job's own timeout (+300 s), so the state machine changes too.
    assert "~ state_machine fpac-itest-workflow" in out
    assert f"definition.States.Landing.TimeoutSeconds: {30 * 60 + 300} → {45 * 60 + 300}" in out
    assert "Plan: 0 to add, 4 to change, 0 to destroy." in out


def test_account_guard_stops_before_any_write(write_config, local_aws_client):
    config = write_config(lambda d: d.update({"account_id": "111111111111"}))
    code, out, err = run("deploy", *target(config), "--yes")
    assert code == 1
    assert "account_id: credentials are for account 123456789012, config names 111111111111" in err
    assert local_aws_client("s3").list_buckets()["Buckets"] == []


def test_refuses_to_apply_without_yes_when_not_interactive(write_config, local_aws_client):
    code, _, err = run("deploy", *target(write_config()))
    assert code == 1 and "pass --yes" in err
    assert local_aws_client("s3").list_buckets()["Buckets"] == []


def test_lock_held_by_another_run_stops_the_deploy_and_unlock_releases_it(write_config, local_aws_client):
    config = write_config()
    assert run("deploy", *target(config), "--yes")[0] == 0
    s3 = local_aws_client("s3")
    key = "_deployer/fpac/itest/lock.json"
    s3.put_object(Bucket="acme-pipelines-local-artifacts", Key=key,
                  Body=json.dumps({"id": "abc-123", "who": "jenkins@agent", "created_at": "2026-01-01T00:00:00+00:00"}))
    changed = write_config(lambda d: d["projects"]["fpac"]["lambda_defaults"].update({"memory_mb": 512}), name="c.json")
    code, _, err = run("deploy", *target(changed), "--yes")
    assert code == 1 and "locked by jenkins@agent" in err and "abc-123" in err
    assert run("plan", *target(changed))[0] == 2, "the locked run changed nothing"
    code, out, _ = run("unlock", *target(changed), "--lock-id", "abc-123")
    assert code == 0 and "released lock abc-123" in out
    assert run("deploy", *target(changed), "--yes")[0] == 0
    assert run("plan", *target(changed))[0] == 0


def test_approved_plan_is_applied_only_while_it_still_holds(write_config, tmp_path):
    config = write_config()
    code, out, _ = run("plan", *target(config), "--output", "json")
    assert code == 2
    approved = tmp_path / "approved.json"
    approved.write_text(out)
    # Something changes between approval and apply: the deploy must refuse.
    drifted = write_config(lambda d: d["projects"]["fpac"]["lambda_defaults"].update({"memory_mb": 512}), name="d.json")
    code, _, err = run("deploy", *target(drifted), "--yes", "--approved-plan", str(approved))
    assert code == 1 and "the plan changed since it was approved" in err and "lambda_function" in err
    assert run("plan", *target(config))[0] == 2, "nothing was applied"
    # The approved plan still holds for the approved config: it applies.
    code, _, err = run("deploy", *target(config), "--yes", "--approved-plan", str(approved))
    assert code == 0, err
    assert run("plan", *target(config))[0] == 0


def test_approved_plan_file_must_be_a_plan(write_config, tmp_path):
    bogus = tmp_path / "bogus.json"
    bogus.write_text("[1, 2]")
    code, _, err = run("deploy", *target(write_config()), "--yes", "--approved-plan", str(bogus))
    assert code == 1 and "not a plan file" in err


def test_unknown_profile_is_one_line(write_config):
    config = write_config(lambda d: d["aws"].update({"profile": "no-such-profile"}))
    code, _, err = run("plan", *target(config))
    assert code == 1 and "cannot get credentials" in err and "no-such-profile" in err
    assert len(err.strip().splitlines()) == 1


def test_destroy_deletes_what_the_project_owns_and_keeps_data(write_config, local_aws_client):
    config = write_config()
    assert run("deploy", *target(config), "--yes")[0] == 0
    glue = local_aws_client("glue")
    glue.create_job(Name="fpac-itest-not-ours", Role="arn:aws:iam::123456789012:role/x",
                    Command={"Name": "glueetl", "ScriptLocation": "s3://x/y.py"})
    code, out, err = run("destroy", *target(config), "--yes", "--output", "json")
    assert code == 0, err
    doc = json.loads(out)
    deleted = {(c["kind"], c["name"]) for c in doc["plan"]["changes"] if c["action"] == "delete"}
    assert ("lambda_function", "fpac-itest-validate") in deleted and ("state_machine", "fpac-itest-workflow") in deleted
    assert all(r["status"] == "done" for r in doc["result"]["results"])
    assert any("retained" in n and "acme-fpac-local-data" in n for n in doc["plan"]["notes"])
    assert local_aws_client("lambda").list_functions()["Functions"] == []
    assert glue.list_jobs()["JobNames"] == ["fpac-itest-not-ours"]
    assert local_aws_client("stepfunctions").list_state_machines()["stateMachines"] == []
    assert not [r for r in local_aws_client("iam").list_roles()["Roles"] if r["RoleName"].startswith("fpac-itest")]
    assert {b["Name"] for b in local_aws_client("s3").list_buckets()["Buckets"]} >= {"acme-fpac-local-data"}
    code, out, _ = run("destroy", *target(config), "--yes")
    assert code == 0 and "No changes." in out
    # And it comes back: a deploy after a destroy recreates everything.
    assert run("deploy", *target(config), "--yes")[0] == 0
    assert run("plan", *target(config))[0] == 0
