"""S3 objects (Glue scripts) compared by content: S3's ETag, the MD5 of a body uploaded in one part, against the MD5
of ours. The plan lists the objects' folder once (ListObjectsV2) rather than asking for each object; nothing is
uploaded unless it changed; a rollback makes a recorded object version current again."""

from __future__ import annotations

import hashlib
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
    """An S3 object (a Glue script); ``name`` is ``bucket/key``. ``sha256`` and ``md5`` are the body's content
    hashes (derived from ``body``; a spec read back from history keeps them without the body; one recorded before
    ``md5`` existed has only ``sha256``)."""

    kind: ClassVar[str] = "s3_object"
    bucket: str = ""
    object_key: str = ""
    body: bytes = b""
    content_type: str = "text/x-python"
    sha256: str = ""
    md5: str = ""

    def __post_init__(self) -> None:
        if self.body and not self.sha256:
            object.__setattr__(self, "sha256", content_sha256(self.body))
        if self.body and not self.md5:
            object.__setattr__(self, "md5", hashlib.md5(self.body, usedforsecurity=False).hexdigest())


NOT_FOUND = ("404", "NoSuchKey", "NotFound")
VERSION = "_version_id"  # read by HeadObject (not by the listing), never diffed: the snapshot's pin


def etag_md5(etag: str | None) -> str | None:
    """The MD5 an ETag stands for: the ETag of an object uploaded in one part (PutObject, as we upload; or copied
    from one) with SSE-S3 or no encryption is the MD5 of its body. Any other (a multipart upload's ``…-N``, SSE-KMS)
    never equals an MD5 of ours, so such an object shows as changed and is uploaded again, our way."""
    return (etag or "").strip('"') or None


def folders(specs: list[Spec]) -> dict[str, str]:
    """Each bucket's objects' common folder (``fpac/prod/glue/``; ``""``: the whole bucket): what the plan lists."""
    keys: dict[str, list[str]] = defaultdict(list)
    for spec in specs:
        keys[spec.bucket].append(posixpath.dirname(spec.object_key))
    common = {bucket: posixpath.commonpath(dirs) for bucket, dirs in keys.items()}
    return {bucket: f"{folder}/" if folder else "" for bucket, folder in sorted(common.items())}


class ObjectHandler(ResourceHandler):
    """Objects are compared by content (MD5, what S3's ETag holds): nothing is uploaded unless it changed."""

    kind = ObjectSpec.kind
    batched = True

    @staticmethod
    def _split(name: str) -> tuple[str, str]:
        bucket, _, key = name.partition("/")
        return bucket, key

    def desired(self, spec: ObjectSpec) -> dict[str, Any]:
        # A spec from a history entry older than ``md5`` compares the SHA-256 kept in the object's metadata.
        return {"md5": spec.md5} if spec.md5 else {"sha256": spec.sha256}

    def desired_with_tags(self, spec: ObjectSpec) -> dict[str, Any]:
        # Object tags are written with every upload; reading them back would cost a call per object
        # on every plan, so the diff lets them follow the content.
        return self.desired(spec)

    def read(self, spec: ObjectSpec) -> dict[str, Any] | None:
        """One object (HeadObject): its content's MD5 (the ETag), the SHA-256 of its metadata and its version."""
        s3 = self.clients.client("s3")
        head = missing_is_none(lambda: s3.head_object(Bucket=spec.bucket, Key=spec.object_key), *NOT_FOUND)
        if head is None:
            return None
        return {"md5": etag_md5(head.get("ETag")), "sha256": head.get("Metadata", {}).get("sha256"), VERSION: head.get("VersionId")}

    def read_many(self, specs: list[Spec]) -> list[dict[str, Any] | None]:
        """One ListObjectsV2 (a page per 1,000 keys) of each bucket's folder for all the objects in it: their ETags.
        A spec without ``md5`` (from an old history entry) is read on its own."""
        listed = [s for s in specs if s.md5]
        etags: dict[tuple[str, str], str | None] = {}
        s3 = self.clients.client("s3")
        for bucket, prefix in folders(listed).items():
            pages = missing_is_none(lambda: list(s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)),
                                    "NoSuchBucket")
            for page in pages or []:
                etags.update({(bucket, o["Key"]): etag_md5(o.get("ETag")) for o in page.get("Contents", [])})
        return [({"md5": etags[(s.bucket, s.object_key)]} if (s.bucket, s.object_key) in etags else None) if s.md5
                else self.read(s) for s in specs]

    @staticmethod
    def put_kwargs(spec: ObjectSpec) -> dict[str, Any]:
        """PutObject's parameters (pure: aws_rules checks them against the service model before any call)."""
        return {"Bucket": spec.bucket, "Key": spec.object_key, "Body": spec.body, "ContentType": spec.content_type,
                "Metadata": {"sha256": spec.sha256}, "Tagging": urlencode(spec.tags), "ServerSideEncryption": "AES256"}

    def create(self, spec: ObjectSpec) -> None:
        self.clients.client("s3").put_object(**self.put_kwargs(spec))

    def update(self, spec: ObjectSpec, changes: tuple[FieldChange, ...], current: dict[str, Any] | None = None) -> None:
        self.create(spec)

    def pin(self, spec: ObjectSpec, current: dict[str, Any] | None = None) -> dict[str, Any] | None:
        if current is None or VERSION not in current:  # a listing shows no version: HeadObject, as read does
            current = self.read(spec)
        return {"version_id": current[VERSION]} if current and current[VERSION] else None

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
    return [arns.objects(bucket, prefix) for bucket, prefix in folders(specs).items()]


KIND = Kind(
    spec=ObjectSpec, handler=ObjectHandler,
    # ...Version: a rollback serves a script's recorded version again (it checks the version, then copies it).
    reads=("s3:GetObject", "s3:GetObjectTagging", "s3:GetObjectVersion", "s3:GetObjectVersionTagging"),
    writes=("s3:PutObject", "s3:PutObjectTagging", "s3:DeleteObject"),
    arns=lambda s, arns, p: [arns.objects(s.bucket, s.object_key)],
    policy_arns=_folders,
    listings=lambda specs: list(folders(specs).items()),
    requests=lambda s, region: [Request("s3", "PutObject", ObjectHandler.put_kwargs(s))],
    tag_limit=(10, "S3 objects"),  # https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-tagging.html
)
