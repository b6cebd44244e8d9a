"""Proof that the deployer's printed policies allow every call it makes, and that each statement is needed.

Every call of a first deploy, a plan, an update (config changes, new code, repaired drift), history and drift,
a rollback, a deploy back, a pipeline run and a destroy is recorded (tests/iam_calls.py: the IAM action, the resource ARN from the parameters, the condition
keys, PassRole and the other authorisations a call implies) and evaluated against the policies
``deployer-policy --for plan|deploy|run`` prints for that config, by a maintained IAM policy evaluator
(tests/iam_evaluator.py). A call the policies would deny fails the test; so does a statement whose removal
denies nothing (a grant no call uses), unless listed below with its reason.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from iam_calls import CallRecorder, is_write, requests
from iam_evaluator import ALLOWED, Query, Request, evaluate

from deploy.common.deployer_policy import deployer_policy
from deploy.common.preparation import prepare
from deploy.common.history import last_successful, load_entry, recent_entries
from deploy.common.pipeline_run import run_pipeline
from deploy.common.rollback import drift as find_drift
from deploy.common.rollback import rollback_plan
from deploy.projects.fpac_pipeline.deploy import run_target

SAMPLES = Path(__file__).resolve().parents[2] / "deploy" / "projects" / "fpac_pipeline" / "sample_data"
ACCOUNT = "123456789012"
# Granted, but no recorded call uses them; each says why it is still granted.
UNUSED_BY_DESIGN: dict[str, str] = {}


def _base(doc):
    doc["history_retention_days"] = 1  # history under S3 Object Lock: CreateBucket with it, PutObject with a retention
    doc["projects"]["fpac"]["notifications"] = {"email": ["ops@example.com"]}  # Subscribe on create


def _update(doc):
    _base(doc)
    fpac = doc["projects"]["fpac"]
    fpac["lambda_defaults"]["memory_mb"] = 512  # UpdateFunctionConfiguration (+ PassRole), PublishVersion, UpdateAlias
    fpac.setdefault("functions", {})["Validate"] = {"reserved_concurrency": 5}  # GetAccountSettings, PutFunctionConcurrency
    fpac.setdefault("jobs", {})["cleaning"] = {"number_of_workers": 3}  # UpdateJob (+ PassRole)
    fpac["crawler"]["schedule"] = "cron(0 5 * * ? *)"  # UpdateCrawler (+ PassRole)
    fpac["state_machine"]["tracing"] = True  # UpdateStateMachine (+ PassRole, log delivery), PutRolePolicy on its role
    doc["log_retention_days"] = 14  # PutRetentionPolicy
    doc["tags"] = {"owner": "data-engineering", "costcentre": "local"}  # every kind's Tag and Untag
    fpac["notifications"] = {"email": ["ops@example.com"], "https": ["https://alerts.example.com/fpac"]}  # Subscribe


def _drift(iam, glue, s3, sns, sqs):
    """Changes made out of band, which the next deploy repairs."""
    queue = sqs.get_queue_attributes(QueueUrl=sqs.create_queue(QueueName="by-hand")["QueueUrl"], AttributeNames=["QueueArn"])
    sns.subscribe(TopicArn=f"arn:aws:sns:us-east-2:{ACCOUNT}:fpac-itest-failures", Protocol="sqs",
                  Endpoint=queue["Attributes"]["QueueArn"])  # Unsubscribe (a confirmed subscription the config lacks)
    s3.put_bucket_policy(Bucket="acme-fpac-local-data", Policy=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::acme-fpac-local-data/*"}]}))  # DeleteBucketPolicy
    iam.delete_role_permissions_boundary(RoleName="fpac-itest-validate-role")  # PutRolePermissionsBoundary
    iam.update_role(RoleName="fpac-itest-landing-role", Description="edited by hand")  # UpdateRole
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                     "Action": "sts:AssumeRole"}]}
    iam.update_assume_role_policy(RoleName="fpac-itest-final-role", PolicyDocument=json.dumps(trust))  # UpdateAssumeRolePolicy
    extra = iam.create_policy(PolicyName="hand-made", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]}))
    iam.attach_role_policy(RoleName="fpac-itest-cleaning-role", PolicyArn=extra["Policy"]["Arn"])  # DetachRolePolicy
    glue.update_database(Name="fpac_itest_catalog", DatabaseInput={"Name": "fpac_itest_catalog", "Description": "hand"})


@pytest.fixture
def recorder(clean_aws_endpoint, local_aws_client):
    iam = local_aws_client("iam")  # not recorded: reads what AWS sees when it authorises a call on a role

    def boundary(role: str) -> str | None:
        try:
            return iam.get_role(RoleName=role)["Role"].get("PermissionsBoundary", {}).get("PermissionsBoundaryArn")
        except ClientError:
            return None

    return CallRecorder(boundary)


@dataclasses.dataclass
class Phase:
    name: str
    config: Path
    attached: tuple[str, ...]  # the credential's policies: plan + deploy, plan + run, or plan alone
    requests: list[Request]


def _policies(config: Path) -> dict[str, dict]:
    prepared = prepare(config, "us-east-2", "fpac")
    target = run_target(prepared.context)
    return {purpose: deployer_policy(purpose, prepared, target) for purpose in ("plan", "deploy", "run")}


def _named(config: Path, policies: dict[str, dict]) -> dict[str, dict]:
    return {f"{config.name}:{purpose}": doc for purpose, doc in policies.items()}


@pytest.fixture
def phases(runner, write_config, recorder, local_aws_client, project_copy, realism) -> list[Phase]:
    """Record every call of: deploy, plan, update (+ drift repaired), history and drift, rollback, deploy back, run,
    destroy. AWS's delays are off: a retried call needs what the call needs, and the proof is about authorisation."""
    realism(enabled=False)
    base = write_config(_base)
    changed = write_config(_update, name="changed.json")
    arns_of = lambda config: prepare(config, "us-east-2", "fpac").context.arns  # noqa: E731
    out: list[Phase] = []

    def record(name: str, config: Path, attached: tuple[str, ...]) -> None:
        calls = recorder.take()
        assert calls, name
        found = [r for call in calls for r in requests(call, arns_of(config))]
        out.append(Phase(name, config, attached, found))

    def engine_for(config: Path):
        prepared = prepare(config, "us-east-2", "fpac")
        return prepared, runner.engine(prepared, hooks=[recorder.hook])

    def deploy(config: Path) -> None:
        plan, result = runner.deploy(config, hooks=[recorder.hook])
        assert result.ok, [o.error for o in result.failed]

    deploy(base)
    record("first deploy", base, ("plan", "deploy"))

    prepared, engine = engine_for(base)
    assert not engine.plan(prepared.specs).has_changes
    record("plan", base, ("plan",))

    _drift(*(local_aws_client(service) for service in ("iam", "glue", "s3", "sns", "sqs")))
    for source in (project_copy / "lambda" / "Validate" / "handler.py", project_copy / "glue" / "shared" / "fpac_schema.py"):
        source.write_text(source.read_text() + "\n# changed\n")  # UpdateFunctionCode; PutObject of a script
    deploy(changed)
    record("update", changed, ("plan", "deploy"))

    prepared, engine = engine_for(changed)  # what `history`, `history show` and `drift` read
    entries = recent_entries(engine.clients, prepared.record, 10)
    load_entry(engine.clients, prepared.record, entries[0].id)
    assert find_drift(engine, last_successful(engine.clients, prepared.record)) == []
    record("history and drift", changed, ("plan",))

    prepared, engine = engine_for(changed)  # rollback to the first deploy: old code and script versions served again
    first = load_entry(engine.clients, prepared.record, entries[-1].id)
    rollback = engine.apply(rollback_plan(engine, first))
    assert rollback.ok, [o.error for o in rollback.failed]
    record("rollback", changed, ("plan", "deploy"))

    deploy(base)  # the reservation goes (DeleteFunctionConcurrency), tags, settings and the new code come back
    record("deploy back", base, ("plan", "deploy"))

    prepared, engine = engine_for(base)  # what `deploy.py run` does: plan first, then run
    assert not engine.plan(prepared.specs).has_changes
    result = run_pipeline(engine.clients, run_target(prepared.context), SAMPLES / "fpac_payments_bad_schema.csv",
                          lambda event: None, run_timeout=300)
    assert result.status == "FAILED" and result.record and result.record["failed_stage"] == "validate"  # the record was read
    record("run", base, ("plan", "run"))

    prepared, engine = engine_for(base)
    destroy = engine.apply(engine.plan([]))
    assert destroy.ok, [o.error for o in destroy.failed]
    record("destroy", base, ("plan", "deploy"))
    return out


def _credential_queries(phases: list[Phase]) -> tuple[dict[str, dict], list[Query]]:
    """Each phase's distinct requests against the policies of its credential, printed for its config."""
    policies: dict[str, dict] = {}
    queries: list[Query] = []
    for phase in phases:
        policies.update(_named(phase.config, _policies(phase.config)))
        names = tuple(f"{phase.config.name}:{purpose}" for purpose in phase.attached)
        queries += [Query(r, names) for r in dict.fromkeys(phase.requests)]
    return policies, queries


def _without(policies: dict[str, dict], queries: list[Query], purpose: str, sid: str) -> tuple[dict[str, dict], list[Query]]:
    """The queries that statement ``sid`` of the ``purpose`` policies could decide, against those policies without it."""
    variant = {f"{name}-{sid}": {**doc, "Statement": [s for s in doc["Statement"] if s.get("Sid") != sid]}
               for name, doc in policies.items() if name.endswith(f":{purpose}")}
    actions = {a.lower() for name, doc in policies.items() if name.endswith(f":{purpose}")
               for s in doc["Statement"] if s.get("Sid") == sid for a in s["Action"]}
    rename = lambda name: f"{name}-{sid}" if name.endswith(f":{purpose}") else name  # noqa: E731
    return variant, [Query(q.request, tuple(rename(n) for n in q.policies)) for q in queries
                     if q.request.action.lower() in actions and any(n.endswith(f":{purpose}") for n in q.policies)]


def test_deployer_policy_covers_every_call_deploy_update_destroy_and_run_make(phases, capsys):
    policies, queries = _credential_queries(phases)
    decisions = evaluate(policies, queries, ACCOUNT)
    denied = [f"{q.policies}: {q.request}" for q, d in zip(queries, decisions) if d != ALLOWED]
    assert not denied, f"{len(denied)} calls the policies deny, e.g.:\n" + "\n".join(denied[:20])
    actions = {q.request.action for q in queries}
    assert len(actions) > 90, len(actions)
    assert actions >= {"iam:PassRole", "iam:CreateRole", "iam:PutRolePermissionsBoundary", "iam:DetachRolePolicy",
                       "iam:UpdateAssumeRolePolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy",
                       "lambda:DeleteFunctionConcurrency", "states:GetExecutionHistory", "s3:PutObject"}

    # Remove any one statement: some recorded call is then denied (the proof can fail), or its grants are unused.
    all_policies: dict[str, dict] = dict(policies)
    all_queries: list[Query] = []
    spans: dict[tuple[str, str], tuple[int, int]] = {}
    statements = [(purpose, stmt) for purpose, doc in _policies(phases[0].config).items() for stmt in doc["Statement"]
                  if stmt["Effect"] == "Allow"]
    for purpose, stmt in statements:
        variant, variant_queries = _without(policies, queries, purpose, stmt["Sid"])
        all_policies.update(variant)
        spans[(purpose, stmt["Sid"])] = (len(all_queries), len(all_queries) + len(variant_queries))
        all_queries += variant_queries
    decisions = evaluate(all_policies, all_queries, ACCOUNT)
    unneeded = sorted(f"{purpose}:{sid}" for (purpose, sid), (start, end) in spans.items()
                      if all(d == ALLOWED for d in decisions[start:end]))
    start, end = spans[("deploy", "ManageRolesWithinBoundary")]  # e.g. without the boundary-conditioned role writes:
    denied = {q.request.action for q, d in zip(all_queries[start:end], decisions[start:end]) if d != ALLOWED}
    assert denied >= {"iam:CreateRole", "iam:PutRolePolicy", "iam:DeleteRole", "iam:PutRolePermissionsBoundary"}, denied

    # Per action of each statement: is any recorded request of that action allowed by that statement alone?
    single: dict[str, dict] = {}
    single_queries: list[Query] = []
    for purpose, stmt in statements:
        for action in stmt["Action"]:
            name = f"{purpose}:{stmt['Sid']}:{action}"
            single[name] = {"Version": "2012-10-17", "Statement": [{**stmt, "Action": [action]}]}
            single_queries += [Query(q.request, (name,)) for q in dict.fromkeys(
                Query(q.request, ()) for q in queries if q.request.action.lower() == action.lower())]
    used = {q.policies[0] for q, d in zip(single_queries, evaluate(single, single_queries, ACCOUNT)) if d == ALLOWED}
    unused = sorted(set(single) - used)
    with capsys.disabled():
        print(f"\ngrants no recorded call uses ({len(unused)} of {len(single)}): {', '.join(unused) or 'none'}")
    assert unused == sorted(UNUSED_BY_DESIGN), unused
    assert unneeded == sorted({name.rsplit(":", 2)[0] for name in UNUSED_BY_DESIGN} - {
        name.rsplit(":", 2)[0] for name in used}), unneeded

    # And the other way round: the plan credential denies every write recorded, the run credential every deploy write.
    _assert_plan_cannot_write_and_run_cannot_deploy(phases)


def _assert_plan_cannot_write_and_run_cannot_deploy(phases: list[Phase]) -> None:
    policies: dict[str, dict] = {}
    queries: list[Query] = []
    for phase in phases:
        policies.update(_named(phase.config, _policies(phase.config)))
        writes = [r for r in dict.fromkeys(phase.requests) if is_write(r.action)]
        queries += [Query(r, (f"{phase.config.name}:plan",)) for r in writes]
        if phase.name != "run":
            queries += [Query(r, (f"{phase.config.name}:plan", f"{phase.config.name}:run")) for r in writes]
    decisions = evaluate(policies, queries, ACCOUNT)
    allowed = [f"{q.policies}: {q.request}" for q, d in zip(queries, decisions) if d == ALLOWED]
    assert not allowed, allowed[:10]
    assert len(queries) > 100
