"""Resource handlers against botocore's Stubber: real AWS response shapes and exact request shapes."""
from __future__ import annotations

import json
from urllib.parse import quote

import boto3
import pytest
from botocore.stub import ANY, Stubber

from deploy.common.naming import Arns
from deploy.common.plan import FieldChange, diff_fields
from deploy.common.kinds.glue_crawler import CrawlerHandler
from deploy.common.kinds.iam_role import RoleHandler, trust_policy
from deploy.common.kinds.lambda_function import FunctionHandler
from deploy.common.kinds.glue_crawler import CrawlerSpec
from deploy.common.kinds.iam_role import RoleSpec
from deploy.common.kinds.lambda_function import FunctionSpec
from deploy.common.tagging import comparable_tags

ARNS = Arns("us-east-2", "111111111111")


class StubbedClients:
    def __init__(self):
        self._clients, self.stubbers = {}, {}

    def client(self, service):
        if service not in self._clients:
            client = boto3.client(service, region_name="us-east-2", aws_access_key_id="x", aws_secret_access_key="x")
            self._clients[service] = client
            self.stubbers[service] = Stubber(client)
            self.stubbers[service].activate()
        return self._clients[service]

    def stub(self, service):
        self.client(service)
        return self.stubbers[service]

    def map(self, work, items):
        """AwsClients.map, one item after another (a Stubber answers in the order its responses were added)."""
        return [work(item) for item in items]


def _no_diff(handler, spec, current):
    current = {**current, "tags": comparable_tags(current.get("tags"))}
    return diff_fields(current, handler.desired_with_tags(spec))


def test_crawler_role_echoed_as_a_name_is_not_a_change():
    clients = StubbedClients()
    spec = CrawlerSpec(name="c", component="crawler", tags={"deployer:project": "fpac"},
                       role_arn=ARNS.role("c-role"), database="db", s3_targets=("s3://b/final/",), exclusions=("**/_SUCCESS",))
    glue = clients.stub("glue")
    glue.add_response("batch_get_crawlers", {"Crawlers": [{
        "Name": "c", "Role": "c-role", "DatabaseName": "db",
        "Targets": {"S3Targets": [{"Path": "s3://b/final/", "Exclusions": ["**/_SUCCESS"]}]},
        "SchemaChangePolicy": {"UpdateBehavior": "UPDATE_IN_DATABASE", "DeleteBehavior": "LOG"},
        "State": "READY", "Description": ""}], "CrawlersNotFound": []}, {"CrawlerNames": ["c"]})
    glue.add_response("get_tags", {"Tags": {"deployer:project": "fpac", "deployer:git-commit": "old"}},
                      {"ResourceArn": ARNS.crawler("c")})
    handler = CrawlerHandler(clients, ARNS)
    assert _no_diff(handler, spec, handler.read(spec)) == ()
    glue.assert_no_pending_responses()


def test_role_with_url_encoded_trust_policy_and_reordered_actions_is_not_a_change():
    clients = StubbedClients()
    doc = {"Version": "2012-10-17", "Statement": [{"Sid": "S", "Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"],
                                                   "Resource": "arn:aws:s3:::b/x/*"}]}
    spec = RoleSpec(name="r", component="c", trust_service="lambda.amazonaws.com", policies={"p": doc}, description="d")
    iam = clients.stub("iam")
    iam.add_response("get_role", {"Role": {
        "Path": "/", "RoleName": "r", "RoleId": "AROAEXAMPLEEXAMPLE1", "Arn": ARNS.role("r"),
        "CreateDate": "2026-01-01T00:00:00Z", "Description": "d",
        "AssumeRolePolicyDocument": quote(json.dumps(trust_policy("lambda.amazonaws.com")))}}, {"RoleName": "r"})
    iam.add_response("list_role_policies", {"PolicyNames": ["p"], "IsTruncated": False}, {"RoleName": "r"})
    reordered = {"Version": "2012-10-17", "Statement": [{"Sid": "S", "Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"],
                                                         "Resource": ["arn:aws:s3:::b/x/*"]}]}
    iam.add_response("get_role_policy", {"RoleName": "r", "PolicyName": "p", "PolicyDocument": quote(json.dumps(reordered))},
                     {"RoleName": "r", "PolicyName": "p"})
    iam.add_response("list_attached_role_policies", {"AttachedPolicies": [], "IsTruncated": False}, {"RoleName": "r"})
    handler = RoleHandler(clients, ARNS)
    assert _no_diff(handler, spec, handler.read(spec)) == ()


def test_code_only_change_uploads_code_publishes_and_moves_the_alias_and_nothing_else():
    clients = StubbedClients()
    spec = FunctionSpec(name="f", component="c", tags={"deployer:project": "fpac"}, role_arn=ARNS.role("f-role"),
                        zip_bytes=b"zip", code_sha256="NEW")
    lam = clients.stub("lambda")
    lam.add_response("update_function_code", {"FunctionName": "f"}, {"FunctionName": "f", "ZipFile": b"zip",
                                                                      "Architectures": ["x86_64"]})
    lam.add_response("get_function", {"Configuration": {"FunctionName": "f", "State": "Active", "LastUpdateStatus": "Successful"}},
                     {"FunctionName": "f"})
    lam.add_response("publish_version", {"Version": "7"}, {"FunctionName": "f"})
    lam.add_response("update_alias", {"Name": "live", "FunctionVersion": "7"},
                     {"FunctionName": "f", "Name": "live", "FunctionVersion": "7"})
    # What the plan read: the alias serves version 6, the tags are already right; neither is read again.
    current = {"code_sha256": "OLD", "tags": {"deployer:project": "fpac"}, "_served_version": "6"}
    FunctionHandler(clients, ARNS).update(spec, (FieldChange("code_sha256", "OLD", "NEW"),), current)
    lam.assert_no_pending_responses()  # any other call (UpdateFunctionConfiguration, TagResource, GetAlias) would have failed


def test_a_function_is_read_with_two_calls_and_its_served_version_pinned_from_them():
    clients = StubbedClients()
    spec = FunctionSpec(name="f", component="c", tags={}, role_arn=ARNS.role("f-role"), code_sha256="NEW")
    lam = clients.stub("lambda")
    config = {"FunctionName": "f", "Runtime": "python3.12", "Handler": "handler.handler", "Role": ARNS.role("f-role"),
              "MemorySize": 256, "Timeout": 60, "CodeSha256": "NEW", "Version": "$LATEST"}
    lam.add_response("get_function", {"Configuration": config, "Tags": {"a": "b"}}, {"FunctionName": "f"})
    lam.add_response("get_function_configuration", {**config, "CodeSha256": "OLD", "Version": "6"},
                     {"FunctionName": "f", "Qualifier": "live"})
    handler = FunctionHandler(clients, ARNS)
    current = handler.read(spec)
    lam.assert_no_pending_responses()
    assert (current["code_sha256"], current["alias"], current["tags"]) == ("NEW", "behind (version 6)", {"a": "b"})
    assert handler.pin(spec, current) == {"version": "6"}  # no call
    lam.add_client_error("get_function", "ResourceNotFoundException", http_status_code=404)
    assert handler.read(spec) is None
    lam.add_response("get_function", {"Configuration": config}, {"FunctionName": "f"})
    lam.add_client_error("get_function_configuration", "ResourceNotFoundException", http_status_code=404)
    assert handler.read(spec)["alias"] == "missing"


@pytest.mark.parametrize("alias_version,expect_update", [("6", True), ("7", False)])
def test_alias_moves_only_when_the_version_differs(alias_version, expect_update):
    clients = StubbedClients()
    spec = FunctionSpec(name="f", component="c", tags={}, role_arn=ARNS.role("f-role"))
    lam = clients.stub("lambda")
    lam.add_response("publish_version", {"Version": "7"}, {"FunctionName": "f"})
    lam.add_response("get_alias", {"Name": "live", "FunctionVersion": alias_version}, {"FunctionName": "f", "Name": "live"})
    if expect_update:
        lam.add_response("update_alias", {"Name": "live"}, {"FunctionName": "f", "Name": "live", "FunctionVersion": "7"})
    lam.add_response("list_tags", {"Tags": {}}, {"Resource": ANY})
    FunctionHandler(clients, ARNS).update(spec, (FieldChange("alias", "behind (version 6)", "points at the current code and config"),))
    lam.assert_no_pending_responses()


BOUNDARY = ARNS.policy("pipeline-boundary-dev")


def test_a_role_whose_boundary_was_removed_gets_it_back_before_its_policies_are_written():
    clients = StubbedClients()
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/x/*"}]}
    spec = RoleSpec(name="r", component="c", trust_service="lambda.amazonaws.com", policies={"p": doc}, permissions_boundary=BOUNDARY)
    iam = clients.stub("iam")
    # The deployer's policy lets it write a role's policies only while the boundary is on the role: boundary first.
    iam.add_response("put_role_permissions_boundary", {}, {"RoleName": "r", "PermissionsBoundary": BOUNDARY})
    iam.add_response("put_role_policy", {}, {"RoleName": "r", "PolicyName": "p", "PolicyDocument": json.dumps(doc)})
    iam.add_response("list_role_tags", {"Tags": [], "IsTruncated": False}, {"RoleName": "r"})
    RoleHandler(clients, ARNS).update(spec, (FieldChange("permissions_boundary", None, BOUNDARY),
                                             FieldChange("inline_policies", {}, {"p": doc})))
    iam.assert_no_pending_responses()


def test_role_reads_its_boundary_and_creates_with_it():
    spec = RoleSpec(name="r", component="c", trust_service="glue.amazonaws.com", permissions_boundary=BOUNDARY)
    assert RoleHandler.create_kwargs(spec)["PermissionsBoundary"] == BOUNDARY
    clients = StubbedClients()
    iam = clients.stub("iam")
    iam.add_response("get_role", {"Role": {
        "Path": "/", "RoleName": "r", "RoleId": "AROAEXAMPLEEXAMPLE1", "Arn": ARNS.role("r"), "CreateDate": "2026-01-01T00:00:00Z",
        "AssumeRolePolicyDocument": quote(json.dumps(trust_policy("glue.amazonaws.com"))),
        "PermissionsBoundary": {"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": BOUNDARY}}},
        {"RoleName": "r"})
    iam.add_response("list_role_policies", {"PolicyNames": [], "IsTruncated": False}, {"RoleName": "r"})
    iam.add_response("list_attached_role_policies", {"AttachedPolicies": [], "IsTruncated": False}, {"RoleName": "r"})
    handler = RoleHandler(clients, ARNS)
    assert _no_diff(handler, spec, handler.read(spec)) == ()


def _versions(*ids_default):
    return {"Versions": [{"VersionId": v, "IsDefaultVersion": d, "CreateDate": f"2026-01-0{i + 1}T00:00:00Z"}
                         for i, (v, d) in enumerate(ids_default)], "IsTruncated": False}


def test_a_changed_boundary_becomes_the_default_version_and_the_oldest_of_five_goes():
    from deploy.common.kinds.iam_policy import ManagedPolicyHandler, ManagedPolicySpec

    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    spec = ManagedPolicySpec(name="pipeline-boundary-dev", component="boundary", document=doc, tags={})
    clients = StubbedClients()
    iam = clients.stub("iam")
    iam.add_response("list_policy_versions", _versions(("v2", False), ("v3", False), ("v4", False), ("v5", False), ("v6", True)),
                     {"PolicyArn": BOUNDARY})
    iam.add_response("delete_policy_version", {}, {"PolicyArn": BOUNDARY, "VersionId": "v2"})
    iam.add_response("create_policy_version", {"PolicyVersion": {"VersionId": "v7"}},
                     {"PolicyArn": BOUNDARY, "PolicyDocument": json.dumps(doc), "SetAsDefault": True})
    # The tags come from what the plan read (``current``): no tag read before writing.
    ManagedPolicyHandler(clients, ARNS).update(spec, (FieldChange("document", {}, doc),), current={"document": {}, "tags": {}})
    iam.assert_no_pending_responses()


def test_the_deploy_credential_changing_the_boundary_is_one_line_saying_who_may():
    from deploy.common.errors import AwsCallError
    from deploy.common.kinds.iam_policy import ManagedPolicyHandler, ManagedPolicySpec

    spec = ManagedPolicySpec(name="pipeline-boundary-dev", component="boundary", document={"Version": "2012-10-17", "Statement": []})
    clients = StubbedClients()
    iam = clients.stub("iam")
    iam.add_response("list_policy_versions", _versions(("v1", True)), {"PolicyArn": BOUNDARY})
    iam.add_client_error("create_policy_version", "AccessDenied", "not authorized to perform: iam:CreatePolicyVersion", 403)
    with pytest.raises(AwsCallError) as err:
        ManagedPolicyHandler(clients, ARNS).update(spec, (FieldChange("document", {}, spec.document),))
    assert str(err.value) == ("iam_policy pipeline-boundary-dev: changing the permissions boundary needs administrator credentials "
                              "(the deployer's deploy policy may create it, never change it): AccessDenied")


def test_scripts_are_read_with_one_listing_of_their_folder_and_compared_by_content_md5():
    from deploy.common.kinds.s3_object import ObjectHandler, ObjectSpec

    specs = [ObjectSpec(name=f"b/p/glue/{job}/{f}", component=job, bucket="b", object_key=f"p/glue/{job}/{f}", body=body)
             for job, f, body in (("a", "job.py", b"one"), ("a", "lib.py", b"two"), ("c", "job.py", b"three"))]
    old = ObjectSpec(name="b/p/glue/a/old.py", component="a", bucket="b", object_key="p/glue/a/old.py", sha256="abc")
    clients = StubbedClients()
    s3 = clients.stub("s3")
    md5 = lambda body: __import__("hashlib").md5(body).hexdigest()  # noqa: E731
    s3.add_response("list_objects_v2", {"IsTruncated": False, "KeyCount": 2, "Contents": [
        {"Key": "p/glue/a/job.py", "ETag": f'"{md5(b"one")}"'}, {"Key": "p/glue/a/lib.py", "ETag": f'"{md5(b"2")}"'}]},
        {"Bucket": "b", "Prefix": "p/glue/"})
    # A spec recorded before md5 existed (from an old history entry) is read on its own, by its metadata.
    s3.add_response("head_object", {"ETag": '"x"', "Metadata": {"sha256": "abc"}, "VersionId": "v1"},
                    {"Bucket": "b", "Key": "p/glue/a/old.py"})
    handler = ObjectHandler(clients, ARNS)
    found = handler.read_many([*specs, old])
    s3.assert_no_pending_responses()
    assert [diff_fields(f, handler.desired(s)) if f else None for f, s in zip(found, [*specs, old])] == [
        (), (FieldChange("md5", md5(b"2"), md5(b"two")),), None, ()]


def test_a_listing_on_a_bucket_the_deployment_does_not_manage_is_granted_for_that_folder_only():
    from deploy.common.deployer_policy import Scope, _listings
    from deploy.common.kinds.s3_bucket import BucketSpec
    from deploy.common.kinds.s3_object import ObjectSpec

    scope = Scope(ARNS, "fpac", "dev", False, ARNS.policy("pipeline-boundary-dev"))
    objects = [ObjectSpec(name=f"shared-bucket/fpac/dev/glue/{f}", component="x", bucket="shared-bucket",
                          object_key=f"fpac/dev/glue/{f}", body=b"x") for f in ("a/job.py", "b/job.py")]
    assert _listings(objects, scope) == [{
        "Sid": "ListSharedBucket", "Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": ["arn:aws:s3:::shared-bucket"],
        "Condition": {"StringEquals": {"s3:prefix": ["fpac/dev/glue/"]}}}]
    # A bucket the deployment manages is listed with the bucket reads (HeadBucket needs s3:ListBucket on all of it).
    assert _listings([BucketSpec(name="shared-bucket", component="artifacts"), *objects], scope) == []
