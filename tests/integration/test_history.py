"""Audit and crash safety against the local AWS: history, rollback, drift, the lock and the record."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from deploy.cli import cli
from deploy.common.preparation import prepare
from deploy.common.errors import StalePlanError

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = "acme-pipelines-local-artifacts"
STATE = "_deployer/fpac/itest/"
CREATE_ID = "fpac-itest-createnewid"
LANDING_SCRIPT = "fpac/itest/glue/landing/landing_job.py"


def run(*args):
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def target(config):
    return ["--config", str(config), "--region", "us-east-2", "--project-type", "fpac"]


def history_json(config):
    code, out, err = run("history", *target(config), "--output", "json")
    assert code == 0, err
    return json.loads(out)


# ---- history ------------------------------------------------------------------------------------

def test_every_apply_leaves_an_entry_and_history_answers_who_when_what(write_config, monkeypatch):
    monkeypatch.setenv("BUILD_URL", "https://jenkins.example/job/deploy/42/")
    config = write_config()
    assert run("deploy", *target(config), "--yes")[0] == 0
    assert run("deploy", *target(config), "--yes")[0] == 0  # no changes: no entry, no write
    changed = write_config(lambda d: d["projects"]["fpac"]["glue_defaults"].update({"timeout_minutes": 45}), name="c.json")
    assert run("deploy", *target(changed), "--yes")[0] == 0

    entries = history_json(config)
    assert [e["status"] for e in entries] == ["succeeded", "succeeded"]
    newest, first = entries
    assert first["counts"]["create"] >= 37 and newest["counts"] == {"create": 0, "update": 4, "delete": 0}
    assert newest["caller"].startswith("arn:aws:sts::123456789012:") or newest["caller"].startswith("arn:aws:iam::")
    assert newest["provenance"]["build_url"] == "https://jenkins.example/job/deploy/42/"
    assert len(newest["provenance"]["commit"]) >= 7 and newest["provenance"]["config_digest"].startswith("sha256:")

    code, out, _ = run("history", *target(config))
    assert code == 0 and newest["id"] in out and "succeeded" in out
    code, out, _ = run("history", *target(config), "show", newest["id"])
    assert code == 0
    assert "~ glue_job:fpac-itest-landing  timeout_minutes  done" in out
    assert "lambda_function:fpac-itest-validate" in out, "live versions after the deployment are listed"
    code, _, err = run("history", *target(config), "show", "20200101T000000Z-nothere")
    assert code == 1 and "no history entry 20200101T000000Z-nothere" in err


def test_history_cannot_be_overwritten(write_config, local_aws_client):
    config = write_config()
    assert run("deploy", *target(config), "--yes")[0] == 0
    (entry,) = history_json(config)
    s3 = local_aws_client("s3")
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match="PreconditionFailed"):  # the way the journal writes: If-None-Match
        s3.put_object(Bucket=ARTIFACTS, Key=f"{STATE}history/{entry['id']}/start.json", Body=b"{}", IfNoneMatch="*")


# ---- rollback -----------------------------------------------------------------------------------

def _invoke_create_id(lam) -> dict:
    out = lam.invoke(FunctionName=f"{CREATE_ID}:live",
                     Payload=json.dumps({"bucket": "acme-fpac-local-data", "key": "incoming/x.csv"}))
    return json.loads(out["Payload"].read())


def test_rollback_serves_the_first_deployments_code_and_script_again(write_config, project_copy, local_aws_client):
    config = write_config()
    assert run("deploy", *target(config), "--yes")[0] == 0
    (first,) = history_json(config)
    s3, lam = local_aws_client("s3"), local_aws_client("lambda")
    v1_script = s3.get_object(Bucket=ARTIFACTS, Key=LANDING_SCRIPT)["Body"].read()
    assert "marker" not in _invoke_create_id(lam)

    handler = project_copy / "lambda" / "CreateNewId" / "handler.py"
    handler.write_text(handler.read_text() + "\n\n_v1 = handler\n\ndef handler(event, context):\n"
                       "    return {**_v1(event, context), 'marker': 'v2'}\n")
    script = project_copy / "glue" / "landingFiles" / "landing_job.py"
    script.write_text(script.read_text() + "\n# v2 of the landing job\n")
    assert run("deploy", *target(config), "--yes")[0] == 0
    assert _invoke_create_id(lam)["marker"] == "v2"
    assert s3.get_object(Bucket=ARTIFACTS, Key=LANDING_SCRIPT)["Body"].read().endswith(b"# v2 of the landing job\n")

    code, out, err = run("rollback", *target(config), "--to", first["id"], "--plan-only")
    assert code == 2, err
    assert f"~ lambda_function {CREATE_ID}" in out and "~ s3_object" in out
    code, _, err = run("rollback", *target(config), "--to", first["id"], "--yes")
    assert code == 0, err
    assert "marker" not in _invoke_create_id(lam), "the alias serves the first deployment's version again"
    assert s3.get_object(Bucket=ARTIFACTS, Key=LANDING_SCRIPT)["Body"].read() == v1_script
    entries = history_json(config)
    assert [e["operation"] for e in entries] == ["rollback", "deploy", "deploy"]
    assert entries[0]["status"] == "succeeded"
    assert run("rollback", *target(config), "--to", first["id"], "--plan-only")[0] == 0, "nothing left to roll back"
    assert run("drift", *target(config))[0] == 0, "what is live is what the rollback deployed"


def test_rollback_refuses_what_it_cannot_restore(write_config, local_aws_client):
    config = write_config()
    assert run("deploy", *target(config), "--yes")[0] == 0
    (first,) = history_json(config)
    local_aws_client("lambda").delete_function(FunctionName=CREATE_ID)
    code, _, err = run("rollback", *target(config), "--to", first["id"], "--yes")
    assert code == 1
    assert f"lambda_function:{CREATE_ID}: deleted since; its recorded version" in err and "\n" not in err.strip()


# ---- drift --------------------------------------------------------------------------------------

def test_drift_shows_changes_made_outside_the_deployer_and_exits_2(write_config, local_aws_client):
    config = write_config()
    code, _, err = run("drift", *target(config))
    assert code == 1 and "no successful deployment" in err
    assert run("deploy", *target(config), "--yes")[0] == 0
    assert run("drift", *target(config))[0] == 0
    local_aws_client("glue").update_job(JobName="fpac-itest-cleaning", JobUpdate={
        **{k: v for k, v in local_aws_client("glue").get_job(JobName="fpac-itest-cleaning")["Job"].items()
           if k in ("Role", "Command", "DefaultArguments", "GlueVersion", "WorkerType", "Timeout", "MaxRetries")},
        "NumberOfWorkers": 9})
    code, out, _ = run("drift", *target(config))
    assert code == 2
    assert "~ glue_job fpac-itest-cleaning" in out and "number_of_workers: 2 → 9" in out


# ---- the lock, the record, ownership ----------------------------------------------------------------

def test_a_plan_made_before_another_deployment_is_never_applied(runner, write_config):
    """B plans, A deploys, B applies: B's plan no longer describes what exists, so it is refused."""
    a = write_config(lambda d: d["projects"]["fpac"]["glue_defaults"].update({"timeout_minutes": 45}), name="a.json")
    b = write_config(lambda d: d["projects"]["fpac"]["lambda_defaults"].update({"memory_mb": 512}), name="b.json")
    runner.deploy(write_config())
    prepared_b = prepare(b, "us-east-2", "fpac")
    engine_b = runner.engine(prepared_b)
    plan_b = engine_b.plan(prepared_b.specs)
    assert runner.deploy(a)[1].ok
    with pytest.raises(StalePlanError, match="what exists changed since this plan was made"):
        engine_b.apply(plan_b)
    assert runner.deploy(a)[0].has_changes is False, "B applied nothing"


@pytest.mark.parametrize("offset", [0.0, 1.0, 3.0])
def test_overlapping_deploys_never_both_apply(runner, write_config, offset):
    runner.deploy(write_config())
    configs = [write_config(lambda d, m=m: d["projects"]["fpac"]["lambda_defaults"].update({"memory_mb": m}), name=f"{m}.json")
               for m in (384, 512)]
    outcomes: dict[int, str] = {}

    def deploy(i):
        time.sleep(offset * i)
        prepared = prepare(configs[i], "us-east-2", "fpac")
        engine = runner.engine(prepared)
        try:
            plan = engine.plan(prepared.specs)
            result = engine.apply(plan)
            outcomes[i] = "applied" if result.ok and result.outcomes else "nothing"
        except Exception as exc:  # noqa: BLE001 - the refusal is the point
            outcomes[i] = type(exc).__name__

    threads = [threading.Thread(target=deploy, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(outcomes) == [0, 1], outcomes
    applied = [i for i, o in outcomes.items() if o == "applied"]
    assert len(applied) >= 1
    if len(applied) == 2:  # only one after the other, each against what the other left
        assert offset > 0
    for i, o in outcomes.items():
        assert o in ("applied", "LockError", "StalePlanError"), outcomes


def test_a_lock_that_cannot_be_released_says_the_apply_succeeded_and_how_to_unlock(write_config):
    config = write_config()
    deny = [True]

    def fail_lock_delete(params, **_):
        if deny[0] and params.get("Key", "").endswith("/lock.json"):
            from botocore.exceptions import ClientError
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "DeleteObject")

    from deploy.common import aws_common

    original = aws_common.AwsClients.client

    def client(self, service):
        made = original(self, service)
        if service == "s3" and not getattr(made, "_lock_hook", False):
            made.meta.events.register("before-parameter-build.s3.DeleteObject", fail_lock_delete)
            made._lock_hook = True
        return made

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(aws_common.AwsClients, "client", client)
        code, _, err = run("deploy", *target(config), "--yes")
    assert code == 1
    line = err.strip().splitlines()[-1]
    assert "the deploy succeeded" in line and "its lock could not be released" in line and "AccessDenied" in line
    assert f"deploy.py unlock --config {config} --project-type fpac --lock-id " in line
    code, out, _ = run("plan", *target(config))
    assert code == 0 and "is locked by" in out, "plan warns while the lock is held"


@pytest.mark.parametrize("body,expected", [
    (b"{not json", "the deployer's record is corrupt: s3://acme-pipelines-local-artifacts/_deployer/fpac/itest/record.json "
                   "is not valid JSON"),
    (b'{"resources": 5}', "has no list of 'kind:name' resources"),
])
def test_a_corrupt_record_is_one_line_naming_it_and_how_to_recover(write_config, local_aws_client, body, expected):
    config = write_config()
    assert run("deploy", *target(config), "--yes")[0] == 0
    local_aws_client("s3").put_object(Bucket=ARTIFACTS, Key=f"{STATE}record.json", Body=body)
    code, _, err = run("plan", *target(config))
    assert code == 1 and expected in err and "restore an earlier version" in err
    assert len(err.strip().splitlines()) == 1


def test_a_resource_another_owner_tags_is_a_conflict_until_adopted(write_config, local_aws_client):
    group = "/aws/lambda/fpac-itest-validate"
    local_aws_client("logs").create_log_group(logGroupName=group, tags={"deployer:project": "billing",
                                                                        "deployer:environment": "itest"})
    config = write_config()
    code, out, _ = run("plan", *target(config))
    assert code == 2 and f"! log_group {group}" in out and "owned by billing/itest" in out
    code, _, err = run("deploy", *target(config), "--yes")
    assert code == 1 and f"log_group {group}: exists, owned by billing/itest" in err and "--adopt log_group:" in err
    assert local_aws_client("lambda").list_functions()["Functions"] == [], "nothing was applied"
    code, _, err = run("deploy", *target(config), "--yes", "--adopt", f"log_group:{group}")
    assert code == 0, err
    tags = local_aws_client("logs").list_tags_log_group(logGroupName=group)["tags"]
    assert tags["deployer:project"] == "fpac"


# ---- kill -9 mid-apply ----------------------------------------------------------------------------

OURS = {"deployer:project": "fpac", "deployer:environment": "itest"}


def _tagged_resources(client) -> list[str]:
    """Everything the local AWS holds that carries this project's ownership tags (buckets and the
    catalog database aside: the deployer retains them by design)."""
    found = []
    iam = client("iam")
    for role in iam.list_roles()["Roles"]:
        if OURS.items() <= {t["Key"]: t["Value"] for t in iam.list_role_tags(RoleName=role["RoleName"])["Tags"]}.items():
            found.append(f"iam_role:{role['RoleName']}")
    lam = client("lambda")
    for fn in lam.list_functions()["Functions"]:
        if OURS.items() <= lam.list_tags(Resource=fn["FunctionArn"])["Tags"].items():
            found.append(f"lambda_function:{fn['FunctionName']}")
    logs = client("logs")
    for group in logs.describe_log_groups()["logGroups"]:
        if OURS.items() <= logs.list_tags_log_group(logGroupName=group["logGroupName"])["tags"].items():
            found.append(f"log_group:{group['logGroupName']}")
    glue = client("glue")
    for job in glue.get_jobs()["Jobs"]:
        found.append(f"glue_job:{job['Name']}")
    for crawler in glue.get_crawlers()["Crawlers"]:
        found.append(f"glue_crawler:{crawler['Name']}")
    for machine in client("stepfunctions").list_state_machines()["stateMachines"]:
        found.append(f"state_machine:{machine['name']}")
    for rule in client("events").list_rules()["Rules"]:
        found.append(f"event_rule:{rule['Name']}")
    s3 = client("s3")
    for item in s3.list_objects_v2(Bucket=ARTIFACTS, Prefix="fpac/").get("Contents", []):
        found.append(f"s3_object:{item['Key']}")
    return sorted(found)


@pytest.mark.parametrize("after_lock", [0.0, 1.5, 3.0])
def test_a_killed_first_deploy_is_destroyed_completely(write_config, local_aws_client, after_lock):
    config = write_config()
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "deploy/deploy.py", "deploy", *target(config), "--yes"], cwd=REPO, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    s3 = local_aws_client("s3")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:  # the apply has begun: its history entry exists
        if s3.list_objects_v2(Bucket=ARTIFACTS, Prefix=f"{STATE}history/").get("KeyCount") if _bucket(s3) else 0:
            break
        time.sleep(0.05)
    time.sleep(after_lock)
    assert proc.poll() is None, "the deploy ended before it could be killed mid-apply"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    if after_lock >= 1.5:
        assert _tagged_resources(local_aws_client), "the kill left something behind to clean up"

    code, out, err = run("destroy", *target(config), "--yes")
    if code != 0 or "is locked by" in out:  # the dead deploy's lock: the error (or the plan's note) says how to release it
        text = err if code != 0 else out
        assert "is locked by" in text and "deploy.py unlock --lock-id " in text, text
        lock_id = text.split("deploy.py unlock --lock-id ")[1].split()[0]
        assert run("unlock", *target(config), "--lock-id", lock_id)[0] == 0
        code, _, err = run("destroy", *target(config), "--yes")
    assert code == 0, err
    assert _tagged_resources(local_aws_client) == []
    statuses = [e["status"] for e in history_json(config)]
    assert statuses[-1] == "interrupted", statuses  # the killed deploy (then the destroy, when it had work)
    assert all(s == "succeeded" for s in statuses[:-1]), statuses


def _bucket(s3) -> bool:
    return any(b["Name"] == ARTIFACTS for b in s3.list_buckets()["Buckets"])


def test_history_is_append_only_by_bucket_policy_and_object_lock_when_configured(write_config, local_aws_client):
    from botocore.exceptions import ClientError

    config = write_config(lambda d: d.update({"history_retention_days": 30}))
    code, _, err = run("deploy", *target(config), "--yes")
    assert code == 0, err
    s3 = local_aws_client("s3")
    policy = json.loads(s3.get_bucket_policy(Bucket=ARTIFACTS)["Policy"])
    protected = [st for st in policy["Statement"] if st["Sid"].startswith("AppendOnly")]
    assert {st["Sid"] for st in protected} == {"AppendOnlyNoDelete", "AppendOnlyNoOverwrite"}
    assert all(st["Effect"] == "Deny" and st["Principal"] == "*" and st["Resource"] ==
               [f"arn:aws:s3:::{ARTIFACTS}/_deployer/*/history/*"] for st in protected)
    (entry,) = history_json(config)
    key = f"{STATE}history/{entry['id']}/start.json"
    head = s3.head_object(Bucket=ARTIFACTS, Key=key)  # (moto's GetObjectRetention answers 500; HEAD carries the same)
    assert head["ObjectLockMode"] == "COMPLIANCE"
    version = head["VersionId"]
    with pytest.raises(ClientError, match="403"):  # denied by the bucket policy (and locked)
        s3.delete_object(Bucket=ARTIFACTS, Key=key, VersionId=version)
    with pytest.raises(ClientError, match="403"):  # an overwrite without If-None-Match: denied
        s3.put_object(Bucket=ARTIFACTS, Key=key, Body=b"{}")
    assert run("plan", *target(config))[0] == 0, "object lock and the policy read back as deployed"
