"""S3 buckets: versioned, encrypted, public access blocked, TLS only on real AWS, and optionally append-only
key patterns and Object Lock (the artifact bucket keeps the deployment history that way)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

from botocore.exceptions import ClientError

from ..aws_common import error_code
from ..errors import AwsCallError
from ..normalize import normalize_policy
from ..plan import FieldChange
from .base import Kind, Request, ResourceHandler, Spec, changed, missing_is_none


@dataclass(frozen=True, eq=False)
class BucketSpec(Spec):
    """``append_only``: key patterns (e.g. ``_deployer/*/history/*``) the bucket policy lets nobody delete or
    overwrite; ``object_lock``: S3 Object Lock enabled, so objects may be written with a retention."""

    kind: ClassVar[str] = "s3_bucket"
    versioned: bool = True
    eventbridge_notifications: bool = False
    tls_only: bool = True
    append_only: tuple[str, ...] = ()
    object_lock: bool = False


BLOCK_ALL = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
SSE = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}]}


class BucketHandler(ResourceHandler):
    kind = BucketSpec.kind
    retained_on_removal = True  # a bucket holds data: the deployer never deletes one

    def _bucket_policy(self, spec: BucketSpec) -> dict[str, Any] | None:
        """TLS only (on real AWS), and the append-only key patterns: nobody may delete them, nor write them
        without If-None-Match (S3 condition key s3:if-none-match: conditional writes enforced by bucket policy)."""
        statements: list[dict[str, Any]] = []
        if spec.tls_only:
            statements.append({"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                               "Resource": [self.arns.bucket(spec.name), self.arns.objects(spec.name)],
                               "Condition": {"Bool": {"aws:SecureTransport": "false"}}})
        if spec.append_only:
            keys = [f"{self.arns.bucket(spec.name)}/{pattern}" for pattern in spec.append_only]
            statements.append({"Sid": "AppendOnlyNoDelete", "Effect": "Deny", "Principal": "*",
                               "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"], "Resource": keys})
            statements.append({"Sid": "AppendOnlyNoOverwrite", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
                               "Resource": keys, "Condition": {"Null": {"s3:if-none-match": "true"}}})
        return normalize_policy({"Version": "2012-10-17", "Statement": statements}) if statements else None

    def desired(self, spec: BucketSpec) -> dict[str, Any]:
        return {
            "versioning": "Enabled" if spec.versioned else "Suspended",
            "encryption": "AES256",
            "public_access_block": BLOCK_ALL,
            "policy": self._bucket_policy(spec),
            "eventbridge_notifications": spec.eventbridge_notifications,
            **({"object_lock": "Enabled"} if spec.object_lock else {}),
        }

    def _exists(self, name: str) -> bool:
        return self._first_read(name, lambda: self.clients.client("s3").head_bucket(Bucket=name)) is not None

    @staticmethod
    def _first_read(name: str, call: Any) -> Any:
        """The answer of the first read of a bucket, None when there is no such bucket; one that exists but is not
        ours to read is an error naming the bucket."""
        try:
            return call()
        except ClientError as exc:
            code = error_code(exc)
            if code in ("404", "NoSuchBucket", "NotFound"):
                return None
            if code in ("403", "AccessDenied"):
                raise AwsCallError(f"s3 bucket '{name}' exists but is not readable with these credentials "
                                   "(owned by another account?); choose another bucket name in the config") from None
            raise

    def read(self, spec: BucketSpec) -> dict[str, Any] | None:
        """One call per setting (S3 has no call that answers with several): versioning (which also tells whether the
        bucket exists), encryption, public access block, policy, notifications, tags, and Object Lock where wanted."""
        s3 = self.clients.client("s3")
        found = self._first_read(spec.name, lambda: s3.get_bucket_versioning(Bucket=spec.name))
        if found is None:
            return None
        versioning = found.get("Status", "Disabled")
        enc = missing_is_none(lambda: s3.get_bucket_encryption(Bucket=spec.name),
                              "ServerSideEncryptionConfigurationNotFoundError")
        rules = (enc or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
        algorithm = rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] if rules else None
        pab = missing_is_none(lambda: s3.get_public_access_block(Bucket=spec.name), "NoSuchPublicAccessBlockConfiguration")
        policy = missing_is_none(lambda: s3.get_bucket_policy(Bucket=spec.name), "NoSuchBucketPolicy")
        notifications = s3.get_bucket_notification_configuration(Bucket=spec.name)
        lock: dict[str, Any] = {}
        if spec.object_lock:  # read only where wanted: once enabled, Object Lock cannot be turned off
            found = missing_is_none(lambda: s3.get_object_lock_configuration(Bucket=spec.name),
                                    "ObjectLockConfigurationNotFoundError")
            lock = {"object_lock": ((found or {}).get("ObjectLockConfiguration") or {}).get("ObjectLockEnabled")}
        return {
            **lock,
            "versioning": versioning,
            "encryption": algorithm,
            "public_access_block": (pab or {}).get("PublicAccessBlockConfiguration"),
            "policy": normalize_policy(policy["Policy"]) if policy else None,
            "eventbridge_notifications": "EventBridgeConfiguration" in notifications,
            "tags": self.read_tags(spec.name) or {},
        }

    @staticmethod
    def create_kwargs(spec: BucketSpec, region: str) -> dict[str, Any]:
        """CreateBucket's parameters (pure: aws_rules checks them against the service model before any call)."""
        kwargs: dict[str, Any] = {"Bucket": spec.name}
        if spec.object_lock:
            kwargs["ObjectLockEnabledForBucket"] = True
        if region != "us-east-1":
            kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
        return kwargs

    @staticmethod
    def tagging_kwargs(spec: BucketSpec) -> dict[str, Any]:
        """PutBucketTagging's parameters: the whole tag set."""
        return {"Bucket": spec.name, "Tagging": {"TagSet": [{"Key": k, "Value": v} for k, v in sorted(spec.tags.items())]}}

    def create(self, spec: BucketSpec) -> None:
        s3 = self.clients.client("s3")
        s3.create_bucket(**self.create_kwargs(spec, self.arns.region))
        s3.get_waiter("bucket_exists").wait(Bucket=spec.name, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
        self._apply(spec, all_fields=True)

    def update(self, spec: BucketSpec, changes: tuple[FieldChange, ...], current: dict[str, Any] | None = None) -> None:
        self._apply(spec, all_fields=False, changes=changes)

    def _apply(self, spec: BucketSpec, all_fields: bool, changes: tuple[FieldChange, ...] = ()) -> None:
        s3 = self.clients.client("s3")
        want = lambda *f: all_fields or changed(changes, *f)  # noqa: E731
        if want("public_access_block"):
            s3.put_public_access_block(Bucket=spec.name, PublicAccessBlockConfiguration=BLOCK_ALL)
        if want("encryption"):
            s3.put_bucket_encryption(Bucket=spec.name, ServerSideEncryptionConfiguration=SSE)
        if want("versioning"):
            status = "Enabled" if spec.versioned else "Suspended"
            s3.put_bucket_versioning(Bucket=spec.name, VersioningConfiguration={"Status": status})
        if want("policy"):
            policy = self._bucket_policy(spec)
            if policy:
                s3.put_bucket_policy(Bucket=spec.name, Policy=json.dumps(policy))
            elif not all_fields:
                s3.delete_bucket_policy(Bucket=spec.name)
        if spec.object_lock and not all_fields and changed(changes, "object_lock"):  # a new bucket got it at creation
            s3.put_object_lock_configuration(Bucket=spec.name, ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"})
        if want("eventbridge_notifications"):
            config = {"EventBridgeConfiguration": {}} if spec.eventbridge_notifications else {}
            s3.put_bucket_notification_configuration(Bucket=spec.name, NotificationConfiguration=config)
        # Bucket tagging is one document: always written whole, provenance included.
        if all_fields or changes:
            s3.put_bucket_tagging(**self.tagging_kwargs(spec))

    def read_tags(self, name: str) -> dict[str, str] | None:
        s3 = self.clients.client("s3")
        result = missing_is_none(lambda: s3.get_bucket_tagging(Bucket=name), "NoSuchTagSet", "NoSuchBucket")
        if result is None:
            return {} if self._exists(name) else None
        return {t["Key"]: t["Value"] for t in result.get("TagSet", [])}

    def delete(self, name: str) -> None:  # pragma: no cover - retained_on_removal keeps the engine from calling it
        raise AwsCallError(f"s3 bucket '{name}' is retained: the deployer never deletes buckets")


KIND = Kind(
    spec=BucketSpec, handler=BucketHandler,
    reads=("s3:ListBucket", "s3:GetBucketVersioning", "s3:GetEncryptionConfiguration", "s3:GetBucketPublicAccessBlock",
           "s3:GetBucketPolicy", "s3:GetBucketNotification", "s3:GetBucketTagging"),
    writes=("s3:CreateBucket", "s3:PutBucketVersioning", "s3:PutEncryptionConfiguration", "s3:PutBucketPublicAccessBlock",
            "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketNotification", "s3:PutBucketTagging"),
    arns=lambda s, arns, p: [arns.bucket(s.name)],
    requests=lambda s, region: [Request("s3", "CreateBucket", BucketHandler.create_kwargs(s, region)),
                                Request("s3", "PutBucketTagging", BucketHandler.tagging_kwargs(s))],
    tag_limit=(50, "S3 buckets"),  # https://docs.aws.amazon.com/AmazonS3/latest/userguide/CostAllocTagging.html
)
