"""What real AWS does that moto does not: each behaviour refuses, delays or rewrites what AWS would.

Every behaviour sees requests before moto (``before``: return an Answer to send instead) and
moto's successful responses after (``after``: record state, or return a rewritten body). Sources
for each answer are in docs/local-aws.md's realism table and in the docstrings below.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from deploy.local_aws.realism.settings import RealismSettings
from deploy.local_aws.realism.wire import Answer, AwsRequest, error, ok_json, role_name

LOCAL_ACCOUNT = "123456789012"
# An internal JSON request to the wrapped app: (X-Amz-Target, body) -> (status, parsed body).
Internal = Callable[[str, dict[str, Any]], tuple[int, dict[str, Any]]]


class Behaviour:
    """Base: the operations a behaviour looks at (``service:Operation``) and its per-server state."""

    before_ops: frozenset[str] = frozenset()
    after_ops: frozenset[str] = frozenset()
    always = False  # True: fills a moto gap, so it acts even with realism off

    def wants(self, request: AwsRequest, settings: RealismSettings) -> bool:
        """Whether ``before`` should see this request."""
        return request.key in self.before_ops

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget all state (moto's /moto-api/reset)."""

    def before(self, request: AwsRequest, settings: RealismSettings, now: float, internal: Internal) -> Answer | None:
        return None

    def after(self, request: AwsRequest, body: bytes, settings: RealismSettings, now: float) -> bytes | None:
        return None


class IamPropagation(Behaviour):
    """A role just created, or whose trust or permission policies just changed, is refused for a while.

    AWS: "changes that you make in IAM ... take time to become visible" (IAM User Guide,
    troubleshoot_general.html#troubleshoot_general_eventual-consistency). The exact refusals are the
    ones the Terraform AWS provider retries: internal/service/lambda/function.go (retryFunctionOp),
    internal/service/glue/crawler.go (CreateCrawler), internal/service/sfn/state_machine.go.
    """

    TRUST_OPS = {"CreateRole", "UpdateAssumeRolePolicy"}
    after_ops = frozenset(f"iam:{op}" for op in (*TRUST_OPS, "PutRolePolicy", "DeleteRolePolicy", "AttachRolePolicy",
                                                 "DetachRolePolicy"))
    before_ops = frozenset({"lambda:CreateFunction", "lambda:UpdateFunctionConfiguration", "glue:CreateCrawler",
                            "glue:UpdateCrawler", "states:CreateStateMachine", "states:UpdateStateMachine"})
    LAMBDA_MESSAGE = "The role defined for the function cannot be assumed by Lambda."
    GLUE_MESSAGE = "Service is unable to assume provided role. Please verify role's TrustPolicy."
    SFN_ASSUME_MESSAGE = ("Neither the global service principal states.amazonaws.com, nor the regional one is authorized "
                          "to assume the provided role.")
    SFN_LOGS_MESSAGE = "The state machine IAM Role is not authorized to access the Log Destination"

    def reset(self) -> None:
        self.trust_changed: dict[str, float] = {}
        self.permissions_changed: dict[str, float] = {}

    def after(self, request: AwsRequest, body: bytes, settings: RealismSettings, now: float) -> bytes | None:
        name = request.params.get("RoleName", "")
        with self.lock:
            (self.trust_changed if request.operation in self.TRUST_OPS else self.permissions_changed)[name] = now
        return None

    def _recent(self, changes: dict[str, float], role: str, settings: RealismSettings, now: float) -> bool:
        with self.lock:
            changed_at = changes.get(role)
        return changed_at is not None and now - changed_at < settings.iam_propagation_seconds

    def before(self, request: AwsRequest, settings: RealismSettings, now: float, internal: Internal) -> Answer | None:
        p = request.params
        role = role_name(p.get("Role") or p.get("roleArn"))
        if not role:
            return None
        trust = self._recent(self.trust_changed, role, settings, now)
        if request.service == "lambda" and trust:
            return error(request, 400, "InvalidParameterValueException", self.LAMBDA_MESSAGE)
        if request.service == "glue" and trust:
            return error(request, 400, "InvalidInputException", self.GLUE_MESSAGE)
        if request.service == "states":
            if trust:
                return error(request, 400, "AccessDeniedException", self.SFN_ASSUME_MESSAGE)
            logging = (p.get("loggingConfiguration") or {}).get("destinations")
            if logging and self._recent(self.permissions_changed, role, settings, now):
                return error(request, 400, "AccessDeniedException", self.SFN_LOGS_MESSAGE)
        return None


class LambdaLifecycle(Behaviour):
    """Functions are ``Pending`` after create and ``InProgress`` after each update; meanwhile AWS refuses.

    AWS: "Lambda function states" (lambda/latest/dg/functions-states.html): "While the function is
    in the Pending state, attempts to invoke or otherwise act on the function will fail";
    "Function updates... LastUpdateStatus InProgress... another update... ResourceConflictException".
    """

    before_ops = frozenset({"lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration", "lambda:PublishVersion",
                            "lambda:Invoke"})
    after_ops = frozenset({"lambda:CreateFunction", "lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration",
                           "lambda:GetFunction", "lambda:GetFunctionConfiguration", "lambda:DeleteFunction"})

    def reset(self) -> None:
        self.busy: dict[str, tuple[str, float]] = {}  # function name -> ("create"|"update", until)

    def _state(self, name: str, now: float) -> str | None:
        with self.lock:
            kind, until = self.busy.get(name, ("", 0.0))
        return kind if now < until else None

    def before(self, request: AwsRequest, settings: RealismSettings, now: float, internal: Internal) -> Answer | None:
        name = request.path_args.get("fn", "")
        state = self._state(name, now)
        if state == "create":
            return error(request, 409, "ResourceConflictException", "The operation cannot be performed at this time. "
                         "The function is currently in the following state: Pending")
        if state == "update" and request.operation != "Invoke":
            arn = f"arn:aws:lambda:{request.region}:{LOCAL_ACCOUNT}:function:{name}"
            return error(request, 409, "ResourceConflictException",
                         f"The operation cannot be performed at this time. An update is in progress for resource: {arn}")
        return None

    def after(self, request: AwsRequest, body: bytes, settings: RealismSettings, now: float) -> bytes | None:
        op = request.operation
        if op == "DeleteFunction":
            with self.lock:
                self.busy.pop(request.path_args.get("fn", ""), None)
            return None
        document = json.loads(body or b"{}")
        config = document.get("Configuration", document) if op == "GetFunction" else document
        name = config.get("FunctionName") or request.path_args.get("fn", "")
        if op == "CreateFunction":
            with self.lock:
                self.busy[name] = ("create", now + settings.lambda_pending_seconds)
        elif op in ("UpdateFunctionCode", "UpdateFunctionConfiguration"):
            with self.lock:
                self.busy[name] = ("update", now + settings.lambda_update_seconds)
        elif request.query.get("Qualifier", "$LATEST") != "$LATEST":
            return None  # published versions are immutable and Active
        state = self._state(name, now)
        if state == "create":
            config.update(State="Pending", StateReason="The function is being created.", StateReasonCode="Creating")
            config.pop("LastUpdateStatus", None)
        elif state == "update":
            config.update(State="Active", LastUpdateStatus="InProgress", LastUpdateStatusReason="The function is being updated.")
        else:
            return None
        return json.dumps(document).encode()


class StaleStateMachineReads(Behaviour):
    """For a moment after UpdateStateMachine, DescribeStateMachine still shows the previous definition.

    AWS API reference, DescribeStateMachine: "This operation is eventually consistent. The results
    are best effort and may not reflect very recent updates and changes." Terraform waits for the
    read to match after each update (internal/service/sfn/state_machine.go, resourceStateMachineUpdate).
    """

    before_ops = frozenset({"states:UpdateStateMachine"})
    after_ops = frozenset({"states:UpdateStateMachine", "states:DescribeStateMachine"})
    FIELDS = ("definition", "roleArn", "loggingConfiguration", "tracingConfiguration", "revisionId")

    def reset(self) -> None:
        self.pending: dict[str, dict[str, Any]] = {}  # arn -> snapshot taken before the update
        self.stale: dict[str, tuple[dict[str, Any], float]] = {}

    def before(self, request: AwsRequest, settings: RealismSettings, now: float, internal: Internal) -> Answer | None:
        arn = request.params.get("stateMachineArn", "")
        status, old = internal("AWSStepFunctions.DescribeStateMachine", {"stateMachineArn": arn})
        if status == 200:
            with self.lock:
                self.pending[arn] = {k: old[k] for k in self.FIELDS if k in old}
        return None

    def after(self, request: AwsRequest, body: bytes, settings: RealismSettings, now: float) -> bytes | None:
        arn = request.params.get("stateMachineArn", "")
        with self.lock:
            if request.operation == "UpdateStateMachine":
                if arn in self.pending:
                    self.stale[arn] = (self.pending.pop(arn), now + settings.sfn_stale_read_seconds)
                return None
            snapshot, until = self.stale.get(arn, ({}, 0.0))
        if now >= until:
            return None
        document = json.loads(body or b"{}")
        document.update(snapshot)
        return json.dumps(document).encode()


class PartialTargetFailures(Behaviour):
    """PutTargets / RemoveTargets answer HTTP 200 with failed entries instead of an error.

    AWS API reference, PutTargets: "This action can partially fail if too many requests are made at
    the same time. If that happens, FailedEntryCount is non-zero in the response and each entry in
    FailedEntries provides the ID of the failed target and the error code." Terraform turns failed
    entries into errors (internal/service/events/target.go, putTargetsError).
    """

    before_ops = frozenset({"events:PutTargets", "events:RemoveTargets"})

    def reset(self) -> None:
        self.failed_calls: dict[tuple[str, str], int] = {}

    def before(self, request: AwsRequest, settings: RealismSettings, now: float, internal: Internal) -> Answer | None:
        key = (request.operation, request.params.get("Rule", ""))
        with self.lock:
            if self.failed_calls.get(key, 0) >= settings.events_failed_calls_per_rule:
                return None
            self.failed_calls[key] = self.failed_calls.get(key, 0) + 1
        ids = [t.get("Id", "") for t in request.params.get("Targets", [])] or list(request.params.get("Ids", []))
        entries = [{"TargetId": i, "ErrorCode": "ConcurrentModificationException",
                    "ErrorMessage": "Too many requests were made at the same time."} for i in ids]
        return ok_json({"FailedEntryCount": len(entries), "FailedEntries": entries})


class ConditionalWriteConflicts(Behaviour):
    """A conditional PutObject racing a delete of the same key gets 409 ConditionalRequestConflict.

    AWS S3 User Guide, conditional-writes.html: "If there's a ... delete request that succeeds before
    a conditional write operation completes, Amazon S3 returns a 409 Conflict response ... you should
    retry". 412 PreconditionFailed (the condition is false) is a different answer: do not retry.
    """

    before_ops = frozenset({"s3:PutObject"})
    after_ops = frozenset({"s3:DeleteObject"})
    MESSAGE = ("A conflicting operation occurred. If using PutObject you can retry the request. If using multipart upload "
               "you should initiate another CreateMultipartUpload request and re-upload each part.")

    def reset(self) -> None:
        self.deleted: dict[tuple[str, str], float] = {}

    def _key(self, request: AwsRequest) -> tuple[str, str]:
        return request.path_args.get("bucket", ""), request.path_args.get("key", "")

    def after(self, request: AwsRequest, body: bytes, settings: RealismSettings, now: float) -> bytes | None:
        with self.lock:
            self.deleted[self._key(request)] = now
        return None

    def before(self, request: AwsRequest, settings: RealismSettings, now: float, internal: Internal) -> Answer | None:
        if "if-none-match" not in request.headers and "if-match" not in request.headers:
            return None
        with self.lock:
            deleted_at = self.deleted.pop(self._key(request), None)
        if deleted_at is not None and now - deleted_at < settings.s3_conflict_seconds:
            return error(request, 409, "ConditionalRequestConflict", self.MESSAGE)
        return None


class Throttling(Behaviour):
    """Token buckets per API, as Step Functions throttles ListExecutions and GetExecutionHistory.

    AWS: Step Functions service quotas, "Quotas related to API action throttling"; the answer is
    HTTP 400 ThrottlingException "Rate exceeded", which botocore's retry modes back off from.
    """

    def reset(self) -> None:
        self.tokens: dict[str, tuple[float, float]] = {}  # op -> (tokens, last refill time)

    def wants(self, request: AwsRequest, settings: RealismSettings) -> bool:
        return request.key in settings.throttles

    def before(self, request: AwsRequest, settings: RealismSettings, now: float, internal: Internal) -> Answer | None:
        bucket = settings.throttles[request.key]
        with self.lock:
            tokens, last = self.tokens.get(request.key, (float(bucket.size), now))
            tokens = min(float(bucket.size), tokens + (now - last) * bucket.refill_per_second)
            allowed = tokens >= 1.0
            self.tokens[request.key] = (tokens - 1.0 if allowed else tokens, now)
        return None if allowed else error(request, 400, "ThrottlingException", "Rate exceeded")


class LambdaAccountSettings(Behaviour):
    """GetAccountSettings (moto has no route for it) with the account's concurrency limit and what is unreserved.

    AWS: Lambda quotas (gettingstarted-limits.html): concurrent executions 1,000 by default, and
    PutFunctionConcurrency must leave at least 100 unreserved (moto enforces that part once
    MOTO_LAMBDA_CONCURRENCY_QUOTA is set, which the layer does from lambda_concurrency_limit).
    """

    before_ops = frozenset({"lambda:GetAccountSettings"})
    always = True

    def before(self, request: AwsRequest, settings: RealismSettings, now: float, internal: Internal) -> Answer | None:
        from moto.awslambda.utils import get_backend

        functions = get_backend(LOCAL_ACCOUNT, request.region).list_functions()
        reserved = sum(int(f.reserved_concurrency or 0) for f in functions)
        limit = settings.lambda_concurrency_limit
        return ok_json({
            "AccountLimit": {"TotalCodeSize": 80530636800, "CodeSizeUnzipped": 262144000, "CodeSizeZipped": 52428800,
                             "ConcurrentExecutions": limit, "UnreservedConcurrentExecutions": limit - reserved},
            "AccountUsage": {"TotalCodeSize": sum(int(f.code_size or 0) for f in functions), "FunctionCount": len(functions)},
        })


def all_behaviours() -> list[Behaviour]:
    return [Throttling(), IamPropagation(), LambdaLifecycle(), StaleStateMachineReads(), PartialTargetFailures(),
            ConditionalWriteConflicts(), LambdaAccountSettings()]
