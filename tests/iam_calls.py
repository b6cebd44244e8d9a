"""What IAM authorises for each AWS call the deployer makes: recorded from real calls, mapped to requests.

``CallRecorder`` is a botocore ``before-parameter-build`` hook: every call (waiters' and paginators' included) with
its parameters, and for a call on a role the boundary the role carries at that moment (the condition key
``iam:PermissionsBoundary`` AWS evaluates). ``requests`` turns one call into what AWS authorises for it: the IAM
action (not always the API name), the resource ARN derived from the parameters, the condition keys our policies
use, and the authorisations a call implies: ``iam:PassRole`` for a role handed to a service (with
``iam:PassedToService``), the tag action for tags given on create, log delivery for a state machine that logs.

An operation missing from the mapping fails loudly: a new call cannot slip past the proof.
"""
from __future__ import annotations

import functools
import threading
from dataclasses import dataclass
from urllib.parse import unquote
from typing import Any, Callable

from iam_evaluator import Request

from deploy.common.naming import Arns
from deploy.common.deployer_policy import LOG_DELIVERY
from deploy.common.kinds.sns_topic import topic_arn

# Calls on an existing role whose authorisation sees the boundary the role carries (iam:PermissionsBoundary).
ROLE_CALLS_SEEING_ITS_BOUNDARY = frozenset({"PutRolePolicy", "DeleteRolePolicy", "DetachRolePolicy", "AttachRolePolicy",
                                            "DeleteRolePermissionsBoundary", "DeleteRole"})


@dataclass(frozen=True)
class Call:
    service: str  # botocore's name: s3, iam, stepfunctions, ...
    operation: str
    params: dict[str, Any]
    role_boundary: str | None = None  # the role's boundary when the call was made (calls in ROLE_CALLS_SEEING_ITS_BOUNDARY)

    def __str__(self) -> str:
        return f"{self.service}.{self.operation}"


class CallRecorder:
    """Records every call made through clients it is hooked into (``event_hooks=[recorder.hook]``). Thread-safe."""

    def __init__(self, role_boundary: Callable[[str], str | None]):
        self._role_boundary = role_boundary
        self._lock = threading.Lock()
        self.calls: list[Call] = []

    @property
    def hook(self) -> tuple[str, Callable[..., None]]:
        return "before-parameter-build", self._record

    def _record(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        service, operation = model.service_model.service_name, model.name
        boundary = self._role_boundary(params["RoleName"]) if service == "iam" and operation in ROLE_CALLS_SEEING_ITS_BOUNDARY else None
        with self._lock:
            self.calls.append(Call(service, operation, dict(params), boundary))

    def take(self) -> list[Call]:
        with self._lock:
            calls, self.calls = self.calls, []
        return calls


# ---- S3: IAM action names differ from API names --------------------------------------------------------------------
S3_BUCKET = {
    "CreateBucket": "CreateBucket", "HeadBucket": "ListBucket", "ListObjectsV2": "ListBucket", "ListObjects": "ListBucket",
    "GetBucketVersioning": "GetBucketVersioning", "PutBucketVersioning": "PutBucketVersioning",
    "GetBucketEncryption": "GetEncryptionConfiguration", "PutBucketEncryption": "PutEncryptionConfiguration",
    "GetPublicAccessBlock": "GetBucketPublicAccessBlock", "PutPublicAccessBlock": "PutBucketPublicAccessBlock",
    "GetBucketPolicy": "GetBucketPolicy", "PutBucketPolicy": "PutBucketPolicy", "DeleteBucketPolicy": "DeleteBucketPolicy",
    "GetBucketNotificationConfiguration": "GetBucketNotification", "PutBucketNotificationConfiguration": "PutBucketNotification",
    "GetBucketTagging": "GetBucketTagging", "PutBucketTagging": "PutBucketTagging",
    "GetObjectLockConfiguration": "GetBucketObjectLockConfiguration", "PutObjectLockConfiguration": "PutBucketObjectLockConfiguration",
}
S3_OBJECT = {
    "HeadObject": "GetObject", "GetObject": "GetObject", "PutObject": "PutObject", "DeleteObject": "DeleteObject",
    "GetObjectTagging": "GetObjectTagging", "PutObjectTagging": "PutObjectTagging",
    "CreateMultipartUpload": "PutObject", "UploadPart": "PutObject", "CompleteMultipartUpload": "PutObject",
}


def _s3(call: Call, arns: Arns) -> list[Request]:
    p, op = call.params, call.operation
    if op in S3_BUCKET:
        context = (("s3:prefix", p.get("Prefix", "")),) if op.startswith("ListObjects") else ()
        out = [Request(f"s3:{S3_BUCKET[op]}", arns.bucket(p["Bucket"]), context)]
        if op == "CreateBucket" and p.get("ObjectLockEnabledForBucket"):  # CreateBucket API reference
            out += [Request("s3:PutBucketObjectLockConfiguration", arns.bucket(p["Bucket"])),
                    Request("s3:PutBucketVersioning", arns.bucket(p["Bucket"]))]
        return out
    if op in S3_OBJECT:
        arn = f"{arns.bucket(p['Bucket'])}/{p['Key']}"
        action = S3_OBJECT[op] + ("Version" if p.get("VersionId") and op in ("GetObject", "HeadObject", "GetObjectTagging") else "")
        context = (("s3:if-none-match", p["IfNoneMatch"]),) if op == "PutObject" and p.get("IfNoneMatch") else ()
        out = [Request(f"s3:{action}", arn, context)]
        if op == "PutObject" and p.get("Tagging"):
            out.append(Request("s3:PutObjectTagging", arn))  # PutObject with tags needs it (PutObject API reference)
        if op == "PutObject" and p.get("ObjectLockMode"):
            out.append(Request("s3:PutObjectRetention", arn))  # a retention given on upload (Object Lock documentation)
        return out
    if op == "CopyObject":  # read the source (its version and tags), write the target with them
        # botocore's own handler has already turned CopySource into "bucket/key?versionId=..." (URL-quoted)
        source = p["CopySource"]
        if isinstance(source, dict):
            path, version = f"{source['Bucket']}/{source['Key']}", source.get("VersionId")
        else:
            path, _, version = source.partition("?versionId=")
        source_arn = f"arn:{arns.partition}:s3:::{unquote(path)}"
        target = f"{arns.bucket(p['Bucket'])}/{p['Key']}"
        versioned = "Version" if version else ""
        out = [Request(f"s3:GetObject{versioned}", source_arn), Request("s3:PutObject", target)]
        if p.get("TaggingDirective", "COPY") == "COPY":
            out += [Request(f"s3:GetObject{versioned}Tagging", source_arn), Request("s3:PutObjectTagging", target)]
        return out
    raise KeyError(op)


# ---- IAM -------------------------------------------------------------------------------------------------------------
IAM_ROLE = {"GetRole", "CreateRole", "DeleteRole", "UpdateAssumeRolePolicy", "UpdateRole", "UpdateRoleDescription",
            "ListRolePolicies", "GetRolePolicy", "PutRolePolicy", "DeleteRolePolicy", "ListAttachedRolePolicies",
            "AttachRolePolicy", "DetachRolePolicy", "TagRole", "UntagRole", "ListRoleTags", "PutRolePermissionsBoundary",
            "DeleteRolePermissionsBoundary"}
IAM_POLICY = {"GetPolicy", "GetPolicyVersion", "ListPolicyVersions", "CreatePolicyVersion", "DeletePolicyVersion",
              "SetDefaultPolicyVersion", "DeletePolicy", "ListPolicyTags", "TagPolicy", "UntagPolicy"}


def _iam(call: Call, arns: Arns) -> list[Request]:
    p, op = call.params, call.operation
    if op in IAM_ROLE:
        arn = arns.role(p["RoleName"])
        boundary = p.get("PermissionsBoundary") if op in ("CreateRole", "PutRolePermissionsBoundary") else call.role_boundary
        out = [Request(f"iam:{op}", arn, (("iam:PermissionsBoundary", boundary),) if boundary else ())]
        if op == "CreateRole" and p.get("Tags"):
            out.append(Request("iam:TagRole", arn))  # tags on create need iam:TagRole (IAM user guide, tagging)
        return out
    if op == "CreatePolicy":
        arn = arns.policy(p["PolicyName"])
        return [Request("iam:CreatePolicy", arn), *([Request("iam:TagPolicy", arn)] if p.get("Tags") else [])]
    if op in IAM_POLICY:
        return [Request(f"iam:{op}", p["PolicyArn"])]
    raise KeyError(op)


# ---- Services that take a role: iam:PassRole to that service -------------------------------------------------------
def _pass(role_arn: str | None, service: str) -> list[Request]:
    if not role_arn:
        return []
    return [Request("iam:PassRole", role_arn, (("iam:PassedToService", service),))]


def _tags_on_create(given: Any, action: str, arn: str) -> list[Request]:
    return [Request(action, arn)] if given else []


def _lambda(call: Call, arns: Arns) -> list[Request]:
    p, op = call.params, call.operation
    if op == "GetAccountSettings":
        return [Request("lambda:GetAccountSettings", "*")]
    if op in ("ListTags", "TagResource", "UntagResource"):
        return [Request(f"lambda:{op}", p["Resource"])]
    name = p["FunctionName"]
    arn = name if name.startswith("arn:") else arns.function(name, p.get("Qualifier"))
    out = [Request(f"lambda:{op}", arn)]
    if op in ("CreateFunction", "UpdateFunctionConfiguration"):
        out += _pass(p.get("Role"), "lambda.amazonaws.com")
    if op == "CreateFunction":
        out += _tags_on_create(p.get("Tags"), "lambda:TagResource", arn)
    return out


def _glue(call: Call, arns: Arns) -> list[Request]:
    p, op = call.params, call.operation
    if op in ("GetTags", "TagResource", "UntagResource"):
        return [Request(f"glue:{op}", p["ResourceArn"])]
    if op == "BatchGetJobs":  # authorised on each job named
        return [Request("glue:BatchGetJobs", arns.glue_job(name)) for name in p["JobNames"]]
    if op == "BatchGetCrawlers":  # authorised on each crawler named
        return [Request("glue:BatchGetCrawlers", arns.crawler(name)) for name in p["CrawlerNames"]]
    if op in ("GetDatabase", "CreateDatabase", "UpdateDatabase", "DeleteDatabase"):
        name = p.get("Name") or p["DatabaseInput"]["Name"]
        out = [Request(f"glue:{op}", arns.glue_catalog()), Request(f"glue:{op}", arns.glue_database(name))]
        return out + _tags_on_create(op == "CreateDatabase" and p.get("Tags"), "glue:TagResource", arns.glue_database(name))
    if op in ("GetJob", "CreateJob", "UpdateJob", "DeleteJob"):
        name = p.get("JobName") or p["Name"]
        role = p.get("Role") or p.get("JobUpdate", {}).get("Role")
        return [Request(f"glue:{op}", arns.glue_job(name)), *_pass(role if op != "GetJob" else None, "glue.amazonaws.com"),
                *_tags_on_create(op == "CreateJob" and p.get("Tags"), "glue:TagResource", arns.glue_job(name))]
    if op == "CreateCrawler":  # AWS authorises CreateCrawler only on "*"
        return [Request("glue:CreateCrawler", "*"), *_pass(p.get("Role"), "glue.amazonaws.com"),
                *_tags_on_create(p.get("Tags"), "glue:TagResource", arns.crawler(p["Name"]))]
    if op in ("GetCrawler", "UpdateCrawler", "DeleteCrawler"):
        return [Request(f"glue:{op}", arns.crawler(p["Name"])), *_pass(p.get("Role") if op == "UpdateCrawler" else None,
                                                                       "glue.amazonaws.com")]
    raise KeyError(op)


def _states(call: Call, arns: Arns) -> list[Request]:
    p, op = call.params, call.operation
    if op == "CreateStateMachine":
        arn = arns.state_machine(p["name"])
    else:
        arn = p.get("stateMachineArn") or p.get("resourceArn") or p.get("executionArn")
    if arn is None:
        raise KeyError(op)
    out = [Request(f"states:{op}", arn)]
    if op in ("CreateStateMachine", "UpdateStateMachine"):
        out += _pass(p.get("roleArn"), "states.amazonaws.com")
        if (p.get("loggingConfiguration") or {}).get("level", "OFF") != "OFF":  # vended logs: the caller sets up delivery
            out += [Request(action, "*") for action in LOG_DELIVERY]
    if op == "CreateStateMachine":
        out += _tags_on_create(p.get("tags"), "states:TagResource", arn)
    return out


def _events(call: Call, arns: Arns) -> list[Request]:
    p, op = call.params, call.operation
    if op in ("ListTagsForResource", "TagResource", "UntagResource"):
        return [Request(f"events:{op}", p["ResourceARN"])]
    name = p.get("Name") or p["Rule"]
    arn = arns.event_rule(name)
    out = [Request(f"events:{op}", arn)]
    if op == "PutTargets":
        out += [r for target in p["Targets"] for r in _pass(target.get("RoleArn"), "events.amazonaws.com")]
    if op == "PutRule":
        out += _tags_on_create(p.get("Tags"), "events:TagResource", arn)
    return out


def _sns(call: Call, arns: Arns) -> list[Request]:
    p, op = call.params, call.operation
    if op == "CreateTopic":  # tags on create need sns:TagResource too (SNS developer guide, tagging)
        arn = topic_arn(arns, p["Name"])
        return [Request("sns:CreateTopic", arn), *_tags_on_create(p.get("Tags"), "sns:TagResource", arn)]
    if op in ("ListTagsForResource", "TagResource", "UntagResource"):
        return [Request(f"sns:{op}", p["ResourceArn"])]
    if op == "Unsubscribe":  # authorised on the subscription's topic (arn:…:TOPIC:subscription-id)
        return [Request("sns:Unsubscribe", p["SubscriptionArn"].rsplit(":", 1)[0])]
    if op in ("GetTopicAttributes", "SetTopicAttributes", "ListSubscriptionsByTopic", "Subscribe", "DeleteTopic"):
        return [Request(f"sns:{op}", p["TopicArn"])]
    raise KeyError(op)


def _logs(call: Call, arns: Arns) -> list[Request]:
    p, op = call.params, call.operation
    if op == "DescribeLogGroups":
        return [Request("logs:DescribeLogGroups", "*")]
    return [Request(f"logs:{op}", arns.log_group(p["logGroupName"]))]


def _sts(call: Call, arns: Arns) -> list[Request]:
    if call.operation == "GetCallerIdentity":
        return [Request("sts:GetCallerIdentity", "*")]
    raise KeyError(call.operation)


SERVICES: dict[str, Callable[[Call, Arns], list[Request]]] = {
    "s3": _s3, "iam": _iam, "lambda": _lambda, "glue": _glue, "stepfunctions": _states, "events": _events, "logs": _logs,
    "sns": _sns, "sts": _sts,
}


@functools.lru_cache(maxsize=1)
def _access_levels() -> dict[str, str]:
    from parliament import iam_definition

    return {f"{s['prefix']}:{p['privilege']}".lower(): p["access_level"] for s in iam_definition for p in s["privileges"]}


def is_write(action: str) -> bool:
    """Whether IAM's action catalogue (parliament's copy) calls ``action`` anything but Read or List; unknown: yes."""
    return _access_levels().get(action.lower(), "Write") not in ("Read", "List")


def requests(call: Call, arns: Arns) -> list[Request]:
    """What AWS authorises for ``call``, each request naming the call it comes from."""
    try:
        found = SERVICES[call.service](call, arns)
    except KeyError:
        raise KeyError(f"no IAM mapping for {call}: add it to tests/iam_calls.py") from None
    return [Request(r.action, r.resource, r.context, str(call)) for r in found]
