"""The deployer's own IAM policies, derived from the specs it deploys: one per credential, project, environment, region.

``deploy.py deployer-policy --for plan|deploy|run`` prints them:

* ``plan``: reads only (``plan``, and what ``deploy``, ``destroy`` and ``run`` read before they act). No write
  action at all, so a plan credential can never change anything.
* ``deploy``: the writes of ``deploy`` and ``destroy``. Attach it with ``plan`` (a deploy plans first).
* ``run``: the smoke run: upload to the incoming prefix, follow the execution, read the run record. Attach it with
  ``plan`` (``run`` checks the deployment is current first).

No escalation: role writes need the environment's permissions boundary (condition ``iam:PermissionsBoundary``), the
deploy credential may create the boundary but never change or delete it, passes each role only to the service
that role trusts (``iam:PassedToService``), and may never assume a pipeline role. So nothing it writes can do more
than the boundary allows (``boundary.py``).

Small enough for a managed policy (6,144 characters): resources are the project's name space in this environment
(``fpac-prod-*``, ``/aws/lambda/fpac-prod-*``, ...) rather than every exact ARN, except the buckets, the roles
passed to services and the boundary, which are exact.
"""
from __future__ import annotations

import json
import posixpath
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .iam_policies import Accepted, merged, policy, statement
from .naming import Arns
from .record import RecordLocation
from .kinds import KINDS
from .kinds.base import Spec
from .kinds.glue_crawler import CrawlerSpec
from .kinds.iam_role import WRITES_WITHIN_BOUNDARY as ROLE_WRITES_WITHIN_BOUNDARY
from .kinds.iam_role import RoleSpec
from .kinds.lambda_function import FunctionSpec
from .kinds.s3_bucket import BucketSpec
from .kinds.state_machine import StateMachineSpec

if TYPE_CHECKING:
    from .context import RunTarget
    from .preparation import Prepared

Purpose = Literal["plan", "deploy", "run"]
PURPOSES: tuple[Purpose, ...] = ("plan", "deploy", "run")
MANAGED_POLICY_CHARS = 6144  # https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html (whitespace not counted)

# IAM action names per resource kind, as each kind declares them (not API names: HeadBucket is s3:ListBucket,
# GetBucketEncryption is s3:GetEncryptionConfiguration, ...). READ: what plan and the waiters read. WRITE: what
# create/update/delete write.
READ: dict[str, tuple[str, ...]] = {name: kind.reads for name, kind in KINDS.items()}
WRITE: dict[str, tuple[str, ...]] = {name: kind.writes for name, kind in KINDS.items()}
# CloudWatch Logs delivery for a state machine that logs: AWS authorises these only on "*".
LOG_DELIVERY = ("logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery", "logs:DeleteLogDelivery",
                "logs:ListLogDeliveries", "logs:PutResourcePolicy", "logs:DescribeResourcePolicies")

# parliament findings (community auditors included) reviewed and accepted, matched by issue and location; with those
# each kind declares for its own actions (``Kind.accepted_findings``), merged with these by issue and place:
ACCEPTED_FINDINGS = merged((
    Accepted("PERMISSIONS_MANAGEMENT_ACTIONS", {"actions": frozenset({
        # pipeline roles: created, given policies, trust and the boundary, deleted; only within the boundary
        "iam:createrole", "iam:putrolepolicy", "iam:deleterolepolicy", "iam:detachrolepolicy", "iam:putrolepermissionsboundary",
        "iam:updateassumerolepolicy", "iam:updaterole", "iam:deleterole",
        "iam:createpolicy",  # the boundary, created once; changing it is not granted
        "iam:passrole",  # each role only to the service it trusts
        "s3:putbucketpolicy", "s3:deletebucketpolicy", "s3:putbucketpublicaccessblock",  # TLS-only policy, public access blocked
        "logs:putresourcepolicy",  # log delivery of a state machine that logs (AWS's requirement)
    })}, "the deployer manages the pipeline's roles, buckets and log delivery; each action is scoped as noted"),
    Accepted("PRIVILEGE_ESCALATION", {"type": "EditExistingLambdaFunctionWithRole"},
             "deploying code is the job; the functions' roles carry the boundary, so new code gets no more than it allows"),
    Accepted("RESOURCE_POLICY_PRIVILEGE_ESCALATION", {"bucket_action": "PutBucketPolicy"},
             "the deployer sets the TLS-only policy of the environment's own buckets; IAM cannot limit a bucket policy's content"),
    Accepted("RESOURCE_MISMATCH", {"actions": frozenset({"states:ListExecutions", "states:DescribeExecution"})},
             "parliament's action table lacks the stateMachine/execution resource types of these two actions"),
    Accepted("UNKNOWN_CONDITION_FOR_ACTION", {"action": "iam:DeleteRole", "condition": "iam:PermissionsBoundary"},
             "parliament's action table predates iam:DeleteRole supporting iam:PermissionsBoundary (the call test's "
             "evaluator, with AWS's current table, denies a condition key an action does not support)"),
    *(accepted for kind in KINDS.values() for accepted in kind.accepted_findings),
))


@dataclass(frozen=True)
class Scope:
    """What the policies are scoped to: one project in one environment and region."""

    arns: Arns
    project: str
    environment: str
    several_regions: bool
    boundary_arn: str

    def pattern(self, name: str) -> str:
        """The project's name space in ``name``: ``fpac-prod-validate`` -> ``fpac-prod-*``, ``/aws/lambda/fpac-prod-x`` ->
        ``/aws/lambda/fpac-prod-*``, ``fpac_prod_catalog`` -> ``fpac_prod_*``; a role of a config with several regions
        keeps its region (``fpac-prod-*-us-east-2``). A name outside the name space stays exact."""
        for separator in "-_":
            prefix = f"{self.project}{separator}{self.environment}{separator}".lower()
            at = name.find(prefix)
            if at == 0 or (at > 0 and name[at - 1] == "/"):
                region = f"-{self.arns.region}"
                suffix = region if self.several_regions and name.endswith(region) else ""
                return name[:at + len(prefix)] + "*" + suffix
        return name


def scope_of(prepared: Prepared) -> Scope:
    ctx = prepared.context
    return Scope(ctx.arns, ctx.project, ctx.environment, len(ctx.config.regions) > 1, ctx.permissions_boundary_arn)


def _by_kind(specs: list[Spec], scope: Scope) -> dict[str, list[str]]:
    """The ARNs each kind's actions are granted on, as the kinds declare them (``Kind.arns``/``Kind.policy_arns``)."""
    grouped: dict[str, list[Spec]] = defaultdict(list)
    for spec in specs:
        grouped[spec.kind].append(spec)
    resources: dict[str, list[str]] = {}
    for name, of_kind in sorted(grouped.items()):
        kind = KINDS[name]
        if kind.policy_arns is not None:
            found = set(kind.policy_arns(of_kind, scope.arns, scope.pattern))
        else:
            found = {arn for spec in of_kind for arn in kind.arns(spec, scope.arns, scope.pattern)}
        resources[name] = sorted(found)
    return resources


def _locked(specs: list[Spec], scope: Scope) -> list[str]:
    """The buckets kept under S3 Object Lock (the artifact bucket when history_retention_days is set)."""
    return sorted(scope.arns.bucket(s.name) for s in specs if isinstance(s, BucketSpec) and s.object_lock)


SERVICE_SIDS = {"s3": "S3", "logs": "Logs", "lambda": "Lambda", "glue": "Glue", "states": "StepFunctions", "events": "EventBridge"}


def _grouped(by_kind: dict[str, list[str]], actions: dict[str, tuple[str, ...]], verb: str) -> list[dict[str, Any]]:
    """One statement per service (an action only ever matches resources of its own type, so a Glue job's actions
    on a crawler's ARN grant nothing), except IAM's kinds, one each: they are the ones to review."""
    grouped: dict[str, tuple[set[str], set[str]]] = {}
    for kind, resources in by_kind.items():
        service = actions[kind][0].split(":")[0]
        sid = verb + ("".join(part.title() for part in kind.split("_")) if service == "iam"
                      else SERVICE_SIDS.get(service, service.upper()))  # a new service's kind needs no entry here
        names, arns = grouped.setdefault(sid, (set(), set()))
        names.update(actions[kind])
        arns.update(resources)
    return [statement(sid, names, arns) for sid, (names, arns) in grouped.items()]


def plan_statements(specs: list[Spec], scope: Scope, record_prefix: str) -> list[dict[str, Any]]:
    """Reads only: each kind's reads on its resources, the record, and the account-wide reads."""
    account_reads = ["sts:GetCallerIdentity", "logs:DescribeLogGroups"]
    if any(isinstance(s, FunctionSpec) and s.reserved_concurrency for s in specs):
        account_reads.append("lambda:GetAccountSettings")  # the plan's concurrency check, only where reservations exist
    return [
        *_grouped(_by_kind(specs, scope), READ, "Read"),
        *_listings(specs, scope),
        statement("ReadRecord", ["s3:GetObject"], [record_prefix]),  # the record, the lock, the history
        *([statement("ReadObjectLock", ["s3:GetBucketObjectLockConfiguration"], locked)] if (locked := _locked(specs, scope)) else []),
        # AWS authorises these only on "*": the account check, and listing log groups by prefix.
        statement("ReadAccount", account_reads, "*"),
    ]


def _listings(specs: list[Spec], scope: Scope) -> list[dict[str, Any]]:
    """s3:ListBucket limited to the prefixes the kinds list (``Kind.listings``), on a bucket the deployment does not
    manage: on one it manages the bucket reads grant s3:ListBucket already (HeadBucket needs it whole)."""
    managed = {s.name for s in specs if isinstance(s, BucketSpec)}
    prefixes: dict[str, set[str]] = defaultdict(set)
    for name, kind in KINDS.items():
        of_kind = [s for s in specs if s.kind == name]
        if kind.listings is not None and of_kind:
            for bucket, prefix in kind.listings(of_kind):
                if bucket not in managed:
                    prefixes[bucket].add(prefix)
    return [statement(f"List{''.join(p.title() for p in bucket.replace('.', '-').split('-'))}", ["s3:ListBucket"],
                      [scope.arns.bucket(bucket)], {"StringEquals": {"s3:prefix": sorted(found)}})
            for bucket, found in sorted(prefixes.items())]


def deploy_statements(specs: list[Spec], scope: Scope, record: RecordLocation) -> list[dict[str, Any]]:
    """The writes of deploy and destroy, none of which can escalate (see the module's docstring)."""
    by_kind = _by_kind(specs, scope)
    roles = [s for s in specs if isinstance(s, RoleSpec)]
    out = _grouped(by_kind, WRITE, "Manage")
    out += _state_statements(specs, scope, record)
    if roles:
        out.append(statement("ManageRolesWithinBoundary", ROLE_WRITES_WITHIN_BOUNDARY, by_kind[RoleSpec.kind],
                             {"ArnEquals": {"iam:PermissionsBoundary": scope.boundary_arn}}))
        for service in sorted({r.trust_service for r in roles}):
            out.append(statement(f"PassRolesTo{service.split('.')[0].title()}", ["iam:PassRole"],
                                 [scope.arns.role(r.name) for r in roles if r.trust_service == service],
                                 {"StringEquals": {"iam:PassedToService": service}}))
        # A role trusting the deployer (it may write trust policies) would still be useless to it.
        out.append({"Sid": "NeverAssumePipelineRoles", "Effect": "Deny", "Action": ["sts:AssumeRole"],
                    "Resource": by_kind[RoleSpec.kind]})
    if any(isinstance(s, CrawlerSpec) for s in specs):
        out.append(statement("CreateCrawlers", ["glue:CreateCrawler"], "*"))  # AWS authorises CreateCrawler only on "*"
    if any(isinstance(s, StateMachineSpec) and s.log_level != "OFF" for s in specs):
        out.append(statement("StateMachineLogDelivery", LOG_DELIVERY, "*"))
    return out


def _state_statements(specs: list[Spec], scope: Scope, record: RecordLocation) -> list[dict[str, Any]]:
    """The record and the lock are written, the lock deleted; history is only ever added to: written with
    If-None-Match (so never over an entry), never deleted, whatever the bucket's policy says."""
    arn = lambda key: f"{scope.arns.bucket(record.bucket)}/{key}"  # noqa: E731
    history = arn(f"{record.history_prefix}*")
    out = [statement("WriteRecordAndLock", ["s3:PutObject"], [arn(record.record_key), arn(record.lock_key)]),
           statement("ReleaseLock", ["s3:DeleteObject"], [arn(record.lock_key)]),
           statement("AppendHistory", ["s3:PutObject"], [history], {"Null": {"s3:if-none-match": "false"}})]
    locked = _locked(specs, scope)
    if locked:  # history under Object Lock: written with a retention, on the bucket Object Lock is enabled on
        out += [statement("RetainHistory", ["s3:PutObjectRetention"], [history]),
                statement("EnableObjectLock", ["s3:PutBucketObjectLockConfiguration"], locked)]
    return out


def run_statements(target: RunTarget, arns: Arns) -> list[dict[str, Any]]:
    """The smoke run: upload the input, find and follow the execution it starts, read its run record."""
    execution_prefix = target.state_machine_arn.replace(":stateMachine:", ":execution:", 1)
    out = [
        statement("UploadInput", ["s3:PutObject"], [arns.objects(target.bucket, target.incoming_prefix)]),
        statement("FindExecution", ["states:ListExecutions"], [target.state_machine_arn]),
        statement("FollowExecution", ["states:DescribeExecution", "states:GetExecutionHistory"], [f"{execution_prefix}:*"]),
    ]
    if target.record_prefix:
        out.append(statement("ReadRunRecord", ["s3:GetObject"], [arns.objects(target.bucket, target.record_prefix)]))
    return out


def deployer_policy(purpose: Purpose, prepared: Prepared, run_target: RunTarget | None = None) -> dict[str, Any]:
    """The ``purpose`` policy of ``prepared``'s project, environment and region (``run`` needs the project's run target)."""
    scope = scope_of(prepared)
    record = prepared.record
    record_prefix = scope.arns.objects(record.bucket, f"{posixpath.dirname(record.record_key)}/")
    if purpose == "plan":
        return policy(*plan_statements(prepared.specs, scope, record_prefix))
    if purpose == "deploy":
        return policy(*deploy_statements(prepared.specs, scope, record))
    if run_target is None:
        raise ValueError(f"project '{prepared.project}' defines no run_target(ctx): it has no run policy")
    return policy(*run_statements(run_target, scope.arns))


def policy_size(document: dict[str, Any]) -> int:
    """Characters IAM counts against its size limits: the JSON without whitespace."""
    return len("".join(json.dumps(document).split()))


def split_policy(document: dict[str, Any], limit: int = MANAGED_POLICY_CHARS) -> list[dict[str, Any]]:
    """``document`` as few managed policies as its statements fit in (first fit, statement order kept).

    A role holds up to 10 managed policies (20 by quota increase); what the parts allow together is exactly what the
    document allows (every statement lands in one part; an explicit Deny in any attached policy applies to all).
    ValueError if one statement alone is over ``limit``."""
    parts: list[list[dict[str, Any]]] = []
    for stmt in document["Statement"]:
        if policy_size(policy(stmt)) > limit:
            raise ValueError(f"statement {stmt.get('Sid', '?')} alone needs {policy_size(policy(stmt))} characters; "
                             f"a managed policy holds {limit}")
        for part in parts:
            if policy_size(policy(*part, stmt)) <= limit:
                part.append(stmt)
                break
        else:
            parts.append([stmt])
    return [policy(*part) for part in parts]
