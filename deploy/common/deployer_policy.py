"""The deployer's own least-privilege IAM policy, derived from the specs it will deploy.

Jenkins' deploy role should be able to touch exactly the resources of one project in one
environment. ``deploy.py deployer-policy`` prints that policy: each resource kind's actions,
scoped to the ARNs of the specs (plus the record and lock objects, PassRole to the pipeline's
own roles, and the few read calls AWS only authorises on "*").
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any, Callable

from .iam_policies import policy, statement
from .naming import Arns
from .specs import (
    BucketSpec, CrawlerSpec, EventRuleSpec, FunctionSpec, GlueDatabaseSpec, GlueJobSpec, LogGroupSpec, ManagedPolicySpec, ObjectSpec,
    RoleSpec, Spec, StateMachineSpec,
)
from .state import RecordLocation

# parliament findings reviewed and accepted for the deployer's policy:
# - a deployer that sets the TLS-only bucket policy could, in principle, widen it: inherent to managing buckets;
# - parliament's action table lacks the stateMachine/execution resource types of these two Step Functions actions.
ACCEPTED_FINDINGS = (
    "RESOURCE_POLICY_PRIVILEGE_ESCALATION",
    "'action': 'states:ListExecutions'",
    "'action': 'states:DescribeExecution'",
)

# IAM action names (not API names: HeadBucket is s3:ListBucket, GetBucketEncryption is s3:GetEncryptionConfiguration, ...).
ACTIONS: dict[str, tuple[str, ...]] = {
    BucketSpec.kind: ("s3:CreateBucket", "s3:ListBucket", "s3:GetBucketVersioning", "s3:PutBucketVersioning",
                      "s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration", "s3:GetBucketPublicAccessBlock",
                      "s3:PutBucketPublicAccessBlock", "s3:GetBucketPolicy", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy",
                      "s3:GetBucketNotification", "s3:PutBucketNotification", "s3:GetBucketTagging", "s3:PutBucketTagging"),
    ObjectSpec.kind: ("s3:GetObject", "s3:PutObject", "s3:PutObjectTagging", "s3:GetObjectTagging", "s3:DeleteObject"),
    ManagedPolicySpec.kind: ("iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyTags", "iam:CreatePolicy", "iam:TagPolicy"),
    RoleSpec.kind: ("iam:PutRolePermissionsBoundary", "iam:GetRole", "iam:CreateRole", "iam:DeleteRole", "iam:UpdateAssumeRolePolicy", "iam:UpdateRole",
                    "iam:ListRolePolicies", "iam:GetRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy",
                    "iam:ListAttachedRolePolicies", "iam:DetachRolePolicy", "iam:TagRole", "iam:UntagRole", "iam:ListRoleTags"),
    LogGroupSpec.kind: ("logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy", "logs:ListTagsLogGroup",
                        "logs:TagLogGroup", "logs:UntagLogGroup"),
    FunctionSpec.kind: ("lambda:GetFunction", "lambda:CreateFunction", "lambda:DeleteFunction", "lambda:UpdateFunctionCode",
                        "lambda:UpdateFunctionConfiguration", "lambda:GetFunctionConfiguration", "lambda:PublishVersion",
                        "lambda:GetAlias", "lambda:CreateAlias", "lambda:UpdateAlias", "lambda:PutFunctionConcurrency",
                        "lambda:DeleteFunctionConcurrency", "lambda:ListTags", "lambda:TagResource", "lambda:UntagResource"),
    GlueDatabaseSpec.kind: ("glue:GetDatabase", "glue:CreateDatabase", "glue:UpdateDatabase", "glue:GetTags",
                            "glue:TagResource", "glue:UntagResource"),
    GlueJobSpec.kind: ("glue:GetJob", "glue:CreateJob", "glue:UpdateJob", "glue:DeleteJob", "glue:GetTags",
                       "glue:TagResource", "glue:UntagResource"),
    CrawlerSpec.kind: ("glue:GetCrawler", "glue:UpdateCrawler", "glue:DeleteCrawler", "glue:GetTags",
                       "glue:TagResource", "glue:UntagResource"),
    StateMachineSpec.kind: ("states:DescribeStateMachine", "states:CreateStateMachine", "states:UpdateStateMachine",
                            "states:DeleteStateMachine", "states:ListTagsForResource", "states:TagResource",
                            "states:UntagResource", "states:ListExecutions"),
    EventRuleSpec.kind: ("events:DescribeRule", "events:PutRule", "events:DeleteRule", "events:ListTargetsByRule",
                         "events:PutTargets", "events:RemoveTargets", "events:ListTagsForResource", "events:TagResource",
                         "events:UntagResource"),
}


def _resources(spec: Spec, arns: Arns) -> list[str]:
    by_kind: dict[str, Callable[[Any], list[str]]] = {
        BucketSpec.kind: lambda s: [arns.bucket(s.name)],
        ObjectSpec.kind: lambda s: [f"{arns.bucket(s.bucket)}/{s.object_key.rsplit('/', 1)[0]}/*"],  # per folder: keeps the policy small
        ManagedPolicySpec.kind: lambda s: [arns.policy(s.name)],
        RoleSpec.kind: lambda s: [arns.role(s.name)],
        LogGroupSpec.kind: lambda s: [arns.log_group(s.name), f"{arns.log_group(s.name)}:*"],
        FunctionSpec.kind: lambda s: [arns.function(s.name), arns.function(s.name, "*")],
        GlueDatabaseSpec.kind: lambda s: [arns.glue_catalog(), arns.glue_database(s.name)],
        GlueJobSpec.kind: lambda s: [arns.glue_job(s.name)],
        CrawlerSpec.kind: lambda s: [arns.crawler(s.name)],
        StateMachineSpec.kind: lambda s: [s.arn],
        EventRuleSpec.kind: lambda s: [arns.event_rule(s.name)],
    }
    return by_kind[spec.kind](spec)


def deployer_policy(specs: list[Spec], arns: Arns, record: RecordLocation) -> dict[str, Any]:
    """One statement per resource kind, scoped to the specs' ARNs, plus what deploying needs around them."""
    resources: dict[str, set[str]] = defaultdict(set)
    for spec in specs:
        resources[spec.kind].update(_resources(spec, arns))
    statements = [statement(f"Manage{kind.title().replace('_', '')}", ACTIONS[kind], sorted(arns_))
                  for kind, arns_ in sorted(resources.items())]
    record_prefix = f"{arns.bucket(record.bucket)}/{record.record_key.rsplit('/', 1)[0]}/*"
    statements += [
        statement("RecordAndLock", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], [record_prefix]),
        statement("PassPipelineRoles", ["iam:PassRole"], sorted(arns.role(s.name) for s in specs if isinstance(s, RoleSpec)),
                  {"StringEquals": {"iam:PassedToService": sorted({s.trust_service for s in specs if isinstance(s, RoleSpec)})}}),
        statement("FollowRuns", ["states:DescribeExecution", "states:GetExecutionHistory"],
                  sorted({arns.executions(s.name) for s in specs if isinstance(s, StateMachineSpec)})),
        # AWS authorises these only on "*": the account check, listing log groups by prefix,
        # creating a crawler, and the log delivery a state machine with logging needs.
        statement("AccountAndListing", ["sts:GetCallerIdentity", "logs:DescribeLogGroups",
                                        # the plan's concurrency check, only where reservations exist to grow
                                        *(["lambda:GetAccountSettings"] if any(
                                            isinstance(s, FunctionSpec) and s.reserved_concurrency for s in specs) else [])],
                  "*"),
        statement("CreateCrawlers", ["glue:CreateCrawler"], "*"),
        statement("StateMachineLogDelivery", ["logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
                                              "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
                                              "logs:DescribeResourcePolicies"], "*"),
    ]
    return policy(*statements)
