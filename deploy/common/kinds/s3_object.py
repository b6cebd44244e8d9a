"""S3 objects (Glue scripts) compared by the SHA-256 kept in their metadata: nothing is uploaded unless it changed;
a rollback makes a recorded object version current again."""

from __future__ import annotations

import posixpath
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlencode

from ..naming import Arns
from ..packaging import content_sha256
from ..plan import FieldChange
from .base import Kind, NamePattern, Request, ResourceHandler, Spec, missing_is_none


@dataclass(frozen=True, eq=False)
class ObjectSpec(Spec):
    """An S3 object (a Glue script); ``name`` is ``bucket/key``. ``sha256`` is the body's content hash
    (derived from ``body``; a spec read back from history keeps the hash without the body)."""

    kind: ClassVar[str] = "s3_object"
    bucket: str = ""
    object_key: str = ""
    body: bytes = b""
    content_type: str = "text/x-python"
    sha256: str = ""

    def __post_init__(self) -> None:
        if self.body and not self.sha256:
            object.__setattr__(self, "sha256", content_sha256(self.body))


class ObjectHandler(ResourceHandler):
    """Objects are compared by the SHA-256 we store in their metadata: nothing is uploaded unless it changed."""

    kind = ObjectSpec.kind

    @staticmethod
    def _split(name: str) -> tuple[str, str]:
        bucket, _, key = name.partition("/")
        return bucket, key

    def desired(self, spec: ObjectSpec) -> dict[str, Any]:
        return {"sha256": spec.sha256}

    def desired_with_tags(self, spec: ObjectSpec) -> dict[str, Any]:
        # Object tags are written with every upload; reading them back would cost a call per object
        # on every plan, so the diff lets them follow the content.
        return self.desired(spec)

    def read(self, spec: ObjectSpec) -> dict[str, Any] | None:
        s3 = self.clients.client("s3")
        head = missing_is_none(lambda: s3.head_object(Bucket=spec.bucket, Key=spec.object_key), "404", "NoSuchKey", "NotFound")
        return None if head is None else {"sha256": head.get("Metadata", {}).get("sha256")}

    @staticmethod
    def put_kwargs(spec: ObjectSpec) -> dict[str, Any]:
        """PutObject's parameters (pure: aws_rules checks them against the service model before any call)."""
        return {"Bucket": spec.bucket, "Key": spec.object_key, "Body": spec.body, "ContentType": spec.content_type,
                "Metadata": {"sha256": spec.sha256}, "Tagging": urlencode(spec.tags), "ServerSideEncryption": "AES256"}

    def create(self, spec: ObjectSpec) -> None:
        self.clients.client("s3").put_object(**self.put_kwargs(spec))

    def update(self, spec: ObjectSpec, changes: tuple[FieldChange, ...]) -> None:
        self.create(spec)

    def pin(self, spec: ObjectSpec) -> dict[str, Any] | None:
        s3 = self.clients.client("s3")
        head = missing_is_none(lambda: s3.head_object(Bucket=spec.bucket, Key=spec.object_key), "404", "NoSuchKey", "NotFound")
        return None if head is None or not head.get("VersionId") else {"version_id": head["VersionId"]}

    def restore(self, spec: ObjectSpec, pin: dict[str, Any]) -> None:
        """Make the recorded object version current again (a copy of it, metadata and tags included)."""
        self.clients.client("s3").copy_object(
            Bucket=spec.bucket, Key=spec.object_key, ServerSideEncryption="AES256",
            CopySource={"Bucket": spec.bucket, "Key": spec.object_key, "VersionId": pin["version_id"]})

    def version_exists(self, spec: ObjectSpec, version_id: str) -> bool:
        s3 = self.clients.client("s3")
        return missing_is_none(lambda: s3.head_object(Bucket=spec.bucket, Key=spec.object_key, VersionId=version_id),
                               "404", "NoSuchKey", "NotFound", "NoSuchVersion", "400") is not None

    def read_tags(self, name: str) -> dict[str, str] | None:
        bucket, key = self._split(name)
        s3 = self.clients.client("s3")
        result = missing_is_none(lambda: s3.get_object_tagging(Bucket=bucket, Key=key), "NoSuchKey", "404", "NoSuchBucket")
        return None if result is None else {t["Key"]: t["Value"] for t in result.get("TagSet", [])}

    def delete(self, name: str) -> None:
        bucket, key = self._split(name)
        self.clients.client("s3").delete_object(Bucket=bucket, Key=key)


def _folders(specs: list[Spec], arns: Arns, pattern: NamePattern) -> list[str]:
    """The objects' common folder in each bucket (``bucket/fpac/prod/glue/*``), not one ARN per file."""
    keys: dict[str, list[str]] = defaultdict(list)
    for spec in specs:
        keys[spec.bucket].append(posixpath.dirname(spec.object_key))
    return [arns.objects(bucket, f"{posixpath.commonpath(folders)}/") for bucket, folders in sorted(keys.items())]


KIND = Kind(
    spec=ObjectSpec, handler=ObjectHandler,
    # ...Version: a rollback serves a script's recorded version again (it checks the version, then copies it).
    reads=("s3:GetObject", "s3:GetObjectTagging", "s3:GetObjectVersion", "s3:GetObjectVersionTagging"),
    writes=("s3:PutObject", "s3:PutObjectTagging", "s3:DeleteObject"),
    arns=lambda s, arns, p: [arns.objects(s.bucket, s.object_key)],
    policy_arns=_folders,
    requests=lambda s, region: [Request("s3", "PutObject", ObjectHandler.put_kwargs(s))],
    tag_limit=(10, "S3 objects"),  # https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html
)
