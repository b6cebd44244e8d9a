"""S3 event notifications as AWS sends them.

- GetBucketNotificationConfiguration echoes EventBridgeConfiguration: moto 5.2.1 stores it (and
  sends events to EventBridge) but leaves it out of the Get response, so a deployer reading the
  bucket back would see it missing and re-apply forever.
- CompleteMultipartUpload sends one Object Created event: moto 5.2.1 stores the assembled object
  with its own put_object, which sends a PutObject event of its own before the
  CompleteMultipartUpload one, so every file boto3 uploads in parts (over 8 MB) started the
  pipeline twice.
"""

from __future__ import annotations

import threading
from typing import Any

from moto.s3.models import S3Backend
from moto.s3.responses import S3Response

from deploy.local_aws.extensions.patching import wrap_method

_CLOSE = "</NotificationConfiguration>"


def add_event_bridge_element(body: str) -> str:
    """Insert <EventBridgeConfiguration/> into a NotificationConfiguration XML body (once)."""
    if "EventBridgeConfiguration" in body:
        return body
    if _CLOSE in body:
        return body.replace(_CLOSE, "<EventBridgeConfiguration/>" + _CLOSE)
    if body.rstrip().endswith("/>") and "<NotificationConfiguration" in body:  # empty element form
        start = body.index("<NotificationConfiguration")
        end = body.index("/>", start)
        return body[:end] + "><EventBridgeConfiguration/>" + _CLOSE + body[end + 2:]
    return body


def _get_bucket_notification(original: Any, self: S3Response) -> Any:
    status, headers, body = original(self)
    config = self.backend.get_bucket_notification_configuration(self.bucket_name)
    if config is None or config.event_bridge is None:
        return status, headers, body
    if isinstance(body, bytes):
        new_body: Any = add_event_bridge_element(body.decode("utf-8")).encode("utf-8")
    else:
        new_body = add_event_bridge_element(body)
    if "Content-Length" in headers:
        headers["Content-Length"] = str(len(new_body if isinstance(new_body, bytes) else new_body.encode()))
    return status, headers, new_body


_completing = threading.local()


def _complete_multipart_upload(original: Any, self: S3Backend, *args: Any, **kwargs: Any) -> Any:
    _completing.active = True
    try:
        return original(self, *args, **kwargs)
    finally:
        _completing.active = False


def _put_object(original: Any, self: S3Backend, *args: Any, **kwargs: Any) -> Any:
    if getattr(_completing, "active", False):
        kwargs["disable_notification"] = True  # the CompleteMultipartUpload event follows
    return original(self, *args, **kwargs)


def apply() -> None:
    wrap_method(S3Response, "get_bucket_notification")(_get_bucket_notification)
    wrap_method(S3Backend, "complete_multipart_upload")(_complete_multipart_upload)
    wrap_method(S3Backend, "put_object")(_put_object)
