"""Issue 11: what a plan reads, call by call. A no-op plan reads each resource with the fewest calls that still show
every field the deployer manages; a deploy reads nothing a second time but under its lock; and what those reads no
longer ask for one by one (tags, the alias, a script's metadata) is still seen when it drifts."""
from __future__ import annotations

import hashlib
import json
from collections import Counter

import pytest

from deploy.common.aws_common import is_mutating
from deploy.common.preparation import prepare

ARTIFACTS = "acme-pipelines-local-artifacts"
SCRIPT = "fpac/itest/glue/landing/landing_job.py"
ACCOUNT = "123456789012"

# Every read of a no-op plan of fpac (40 resources), by operation. A read that comes back fails this test: say why
# in benchmarks/README.md ("No-op plan reads") and change the figure here.
NO_OP_PLAN = {
    # 9 roles: no single call shows a role's inline and attached policies (GetAccountAuthorizationDetails would, for
    # the whole account: not granted); GetRole shows the trust policy, boundary and tags.
    ("iam", "GetRole"): 9, ("iam", "ListRolePolicies"): 9, ("iam", "GetRolePolicy"): 9, ("iam", "ListAttachedRolePolicies"): 9,
    ("iam", "GetPolicy"): 1, ("iam", "GetPolicyVersion"): 1,  # the boundary; GetPolicy shows its tags
    # 2 buckets: a call per setting, the first (versioning) also telling whether the bucket exists
    ("s3", "GetBucketVersioning"): 2, ("s3", "GetBucketEncryption"): 2, ("s3", "GetPublicAccessBlock"): 2,
    ("s3", "GetBucketPolicy"): 2, ("s3", "GetBucketNotificationConfiguration"): 2, ("s3", "GetBucketTagging"): 2,
    ("s3", "ListObjectsV2"): 1,  # 12 scripts: their folder listed once, ETag = MD5
    ("s3", "GetObject"): 2,  # the record and the lock
    ("lambda", "GetFunction"): 3, ("lambda", "GetFunctionConfiguration"): 3,  # $LATEST and tags; what the alias serves
    ("glue", "BatchGetJobs"): 1, ("glue", "BatchGetCrawlers"): 1, ("glue", "GetDatabase"): 1, ("glue", "GetTags"): 5,
    ("logs", "DescribeLogGroups"): 1, ("logs", "ListTagsLogGroup"): 4,  # 4 groups described by name at once
    ("events", "DescribeRule"): 2, ("events", "ListTargetsByRule"): 2, ("events", "ListTagsForResource"): 2,
    ("sns", "GetTopicAttributes"): 1, ("sns", "ListSubscriptionsByTopic"): 1, ("sns", "ListTagsForResource"): 1,
    ("stepfunctions", "DescribeStateMachine"): 1, ("stepfunctions", "ListTagsForResource"): 1,
    ("sts", "GetCallerIdentity"): 1,  # the account guard
}


@pytest.fixture
def deployed(runner, write_config, realism):
    realism(enabled=False)  # the calls are what is counted here, not AWS's delays
    config = write_config()
    plan, result = runner.deploy(config)
    assert result.ok, [o.error for o in result.failed]
    return config


def _reads(runner) -> Counter:
    return Counter(c for c in runner.calls.calls if not is_mutating(c[1]))


def test_a_no_op_plan_makes_these_reads_and_no_more(runner, deployed):
    prepared = prepare(deployed, "us-east-2", "fpac")
    plan = runner.engine(prepared).plan(prepared.specs)
    assert not plan.has_changes
    assert runner.calls.writes == []
    assert _reads(runner) == Counter(NO_OP_PLAN)
    assert sum(NO_OP_PLAN.values()) == 84 and len(prepared.specs) == 40  # 2.1 reads per resource (before: 109, 2.73)


def test_a_deploy_reads_again_only_under_its_lock_and_writes_from_what_that_read(runner, deployed, project_copy):
    handler = project_copy / "lambda" / "CreateNewId" / "handler.py"
    handler.write_text(handler.read_text() + "\n# a change\n")
    plan, result = runner.deploy(deployed)
    assert result.ok and [c.key for c in plan.changes if c.action != "no-op"] == ["lambda_function:fpac-itest-createnewid"]
    expected = Counter({op: 2 * n for op, n in NO_OP_PLAN.items()})  # the plan, and the plan again under the lock
    expected[("sts", "GetCallerIdentity")] = 1  # once per run
    # The lock: read by the plan (not by the plan under it, which holds it) and before releasing it (still ours?).
    # The record: read by each plan, never again (the intent and the final record are written from that).
    expected[("s3", "GetObject")] = 2 + 1 + 1
    expected += Counter({
        ("lambda", "GetFunction"): 1,  # waiting for the code update to finish
        ("lambda", "GetAlias"): 1,  # the snapshot: the version the moved alias serves now
        ("s3", "HeadObject"): 12,  # the snapshot: each script's version (a listing shows no version ids)
    })
    # Not read again: the function's tags before writing them, the alias before moving it, the unchanged
    # functions' and the state machine's versions for the snapshot (the plan under the lock read them).
    assert _reads(runner) == expected


def test_what_the_fewer_reads_still_see_drift_in(runner, deployed, local_aws_client):
    s3, logs, lam, glue, events, iam, sfn, sns = (local_aws_client(s) for s in (
        "s3", "logs", "lambda", "glue", "events", "iam", "stepfunctions", "sns"))
    # A script replaced by other content that claims the old hash in its metadata: the ETag (MD5) tells.
    sha256 = s3.head_object(Bucket=ARTIFACTS, Key=SCRIPT)["Metadata"]["sha256"]
    s3.put_object(Bucket=ARTIFACTS, Key=SCRIPT, Body=b"print('not ours')\n", Metadata={"sha256": sha256})
    s3.delete_object(Bucket=ARTIFACTS, Key="fpac/itest/glue/final/final_job.py")
    s3.put_bucket_versioning(Bucket="acme-fpac-local-data", VersioningConfiguration={"Status": "Suspended"})
    logs.put_retention_policy(logGroupName="/aws/lambda/fpac-itest-validate", retentionInDays=1)
    logs.tag_log_group(logGroupName="/aws/vendedlogs/states/fpac-itest-workflow", tags={"owner": "someone"})
    lam.update_function_configuration(FunctionName="fpac-itest-validate", MemorySize=1024)  # $LATEST only, not served
    glue.update_crawler(Name="fpac-itest-final-crawler", Schedule="cron(0 5 * * ? *)")
    glue.tag_resource(ResourceArn=f"arn:aws:glue:us-east-2:{ACCOUNT}:job/fpac-itest-cleaning", TagsToAdd={"owner": "x"})
    events.untag_resource(ResourceARN=f"arn:aws:events:us-east-2:{ACCOUNT}:rule/fpac-itest-incoming", TagKeys=["owner"])
    iam.tag_policy(PolicyArn=f"arn:aws:iam::{ACCOUNT}:policy/pipeline-boundary-itest", Tags=[{"Key": "owner", "Value": "x"}])
    sfn.untag_resource(resourceArn=f"arn:aws:states:us-east-2:{ACCOUNT}:stateMachine:fpac-itest-workflow", tagKeys=["owner"])
    sns.tag_resource(ResourceArn=f"arn:aws:sns:us-east-2:{ACCOUNT}:fpac-itest-failures", Tags=[{"Key": "extra", "Value": "y"}])

    prepared = prepare(deployed, "us-east-2", "fpac")
    plan = runner.engine(prepared).plan(prepared.specs)
    found = {(c.action, c.key): set(c.changed_fields) for c in plan.changes if c.action != "no-op"}
    assert found == {
        ("update", f"s3_object:{ARTIFACTS}/{SCRIPT}"): {"md5"},
        ("create", f"s3_object:{ARTIFACTS}/fpac/itest/glue/final/final_job.py"): {"md5"},
        ("update", "s3_bucket:acme-fpac-local-data"): {"versioning"},
        ("update", "log_group:/aws/lambda/fpac-itest-validate"): {"retention_days"},
        ("update", "log_group:/aws/vendedlogs/states/fpac-itest-workflow"): {"tags"},
        ("update", "lambda_function:fpac-itest-validate"): {"memory_mb", "alias"},
        ("update", "glue_crawler:fpac-itest-final-crawler"): {"schedule"},
        ("update", "glue_job:fpac-itest-cleaning"): {"tags"},
        ("update", "event_rule:fpac-itest-incoming"): {"tags"},
        ("update", "iam_policy:pipeline-boundary-itest"): {"tags"},
        ("update", "state_machine:fpac-itest-workflow"): {"tags"},
        ("update", "sns_topic:fpac-itest-failures"): {"tags"},
    }
    (script,) = [c for c in plan.changes if c.key == f"s3_object:{ARTIFACTS}/{SCRIPT}"]
    assert script.fields[0].old == hashlib.md5(b"print('not ours')\n").hexdigest()

    # The deploy repairs it all, writing the tags from what its plan under the lock read (no tag read in between:
    # each tag read is one of the two plans'), and then nothing is left.
    plan, result = runner.deploy(deployed)
    assert result.ok, [o.error for o in result.failed]
    reads, writes = _reads(runner), Counter(runner.calls.writes)
    tag_writes = {("sns", "UntagResource"), ("glue", "TagResource"), ("iam", "TagPolicy"), ("logs", "TagLogGroup"),
                  ("events", "TagResource"), ("stepfunctions", "TagResource")}
    assert {op: writes[op] for op in tag_writes} == dict.fromkeys(tag_writes, 1), writes
    tag_reads = [("logs", "ListTagsLogGroup"), ("glue", "GetTags"), ("events", "ListTagsForResource"),
                 ("stepfunctions", "ListTagsForResource"), ("sns", "ListTagsForResource"), ("s3", "GetBucketTagging")]
    assert {op: reads[op] for op in tag_reads} == {op: 2 * NO_OP_PLAN[op] for op in tag_reads}
    assert not reads[("iam", "ListPolicyTags")] and not reads[("iam", "ListRoleTags")] and not reads[("lambda", "ListTags")]
    assert not runner.deploy(deployed)[0].has_changes
    assert s3.get_object(Bucket=ARTIFACTS, Key=SCRIPT)["Body"].read() != b"print('not ours')\n"


def test_a_script_uploaded_in_parts_is_uploaded_again_our_way(runner, deployed, local_aws_client):
    """A multipart ETag is no MD5: the object shows as changed (never as the same), and the deploy puts it back whole."""
    s3 = local_aws_client("s3")
    body = s3.get_object(Bucket=ARTIFACTS, Key=SCRIPT)["Body"].read()
    upload = s3.create_multipart_upload(Bucket=ARTIFACTS, Key=SCRIPT)
    part = s3.upload_part(Bucket=ARTIFACTS, Key=SCRIPT, UploadId=upload["UploadId"], PartNumber=1, Body=body)
    s3.complete_multipart_upload(Bucket=ARTIFACTS, Key=SCRIPT, UploadId=upload["UploadId"],
                                 MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]})
    assert "-" in s3.head_object(Bucket=ARTIFACTS, Key=SCRIPT)["ETag"]
    plan, result = runner.deploy(deployed)
    assert result.ok
    assert [c.key for c in plan.changes if c.action != "no-op"] == [f"s3_object:{ARTIFACTS}/{SCRIPT}"]
    assert json.loads(json.dumps(s3.head_object(Bucket=ARTIFACTS, Key=SCRIPT)["ETag"])).strip('"') == \
        hashlib.md5(body).hexdigest()
    assert not runner.deploy(deployed)[0].has_changes
