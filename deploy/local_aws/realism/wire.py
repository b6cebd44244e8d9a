"""The HTTP side of the realism layer: which AWS operation a request is, and AWS-shaped answers.

Requests are recognised the way AWS's front ends do: the service from the SigV4 credential scope,
the operation from ``X-Amz-Target`` (JSON protocols), ``Action`` (IAM's query protocol) or the
method and path (Lambda's REST protocol, S3). Only what the realism behaviours need is parsed.
"""

from __future__ import annotations

import io
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote

# Services whose request bodies are small JSON or form documents we may read.
_BODY_SERVICES = {"lambda", "glue", "states", "events", "iam"}
_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
_LAMBDA_ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = tuple(
    (method, re.compile(pattern), op)
    for method, pattern, op in (
        ("POST", r"^/2015-03-31/functions/?$", "CreateFunction"),
        ("GET", r"^/2015-03-31/functions/(?P<fn>[^/]+)/?$", "GetFunction"),
        ("DELETE", r"^/2015-03-31/functions/(?P<fn>[^/]+)/?$", "DeleteFunction"),
        ("GET", r"^/2015-03-31/functions/(?P<fn>[^/]+)/configuration/?$", "GetFunctionConfiguration"),
        ("PUT", r"^/2015-03-31/functions/(?P<fn>[^/]+)/configuration/?$", "UpdateFunctionConfiguration"),
        ("PUT", r"^/2015-03-31/functions/(?P<fn>[^/]+)/code/?$", "UpdateFunctionCode"),
        ("POST", r"^/2015-03-31/functions/(?P<fn>[^/]+)/versions/?$", "PublishVersion"),
        ("POST", r"^/2015-03-31/functions/(?P<fn>[^/]+)/invocations/?$", "Invoke"),
        ("PUT", r"^/2017-10-31/functions/(?P<fn>[^/]+)/concurrency/?$", "PutFunctionConcurrency"),
        ("GET", r"^/2016-08-19/account-settings/?$", "GetAccountSettings"),
    )
)


def function_name(name_or_arn: str) -> str:
    """A Lambda function's name from a name, a (partial) ARN, or a qualified ARN."""
    value = unquote(name_or_arn)
    if value.startswith("arn:"):
        parts = value.split(":")
        return parts[6] if len(parts) > 6 else value
    return value.split(":")[0]


def role_name(name_or_arn: str | None) -> str:
    """An IAM role's name from its name or ARN (paths dropped)."""
    value = name_or_arn or ""
    return value.rsplit("/", 1)[-1] if value.startswith("arn:") else value


@dataclass
class AwsRequest:
    service: str
    operation: str
    method: str
    path: str
    region: str
    headers: dict[str, str]
    params: dict[str, Any] = field(default_factory=dict)
    path_args: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """``service:Operation``, the name behaviours and throttles use."""
        return f"{self.service}:{self.operation}"


def parse_request(environ: dict[str, Any]) -> AwsRequest | None:
    """Recognise the AWS operation of a WSGI request, or None for anything else (moto's admin API, ...).

    Reading the body replaces ``wsgi.input`` with a fresh stream, so moto still sees the whole request.
    """
    headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
    scope = _SCOPE.search(headers.get("authorization", ""))
    if scope is None:
        return None
    region, service = scope.group(1), scope.group(2)
    method = environ.get("REQUEST_METHOD", "GET")
    path = environ.get("PATH_INFO", "")
    body = _read_body(environ) if service in _BODY_SERVICES else b""
    query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}
    request = AwsRequest(service, "", method, path, region, headers, query=query)
    target = headers.get("x-amz-target", "")
    if target:
        request.operation = target.rsplit(".", 1)[-1]
        request.params = _json(body)
    elif service == "iam":
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        request.operation = form.get("Action", "")
        request.params = form
    elif service == "lambda":
        for route_method, pattern, op in _LAMBDA_ROUTES:
            match = pattern.match(path) if route_method == method else None
            if match:
                request.operation = op
                request.path_args = {k: function_name(v) for k, v in match.groupdict().items()}
                request.params = _json(body)
                break
    elif service == "s3":
        request.operation = _s3_operation(method, path, environ.get("QUERY_STRING", ""))
        bucket, _, key = path.lstrip("/").partition("/")
        request.path_args = {"bucket": unquote(bucket), "key": unquote(key)}
    return request


def _s3_operation(method: str, path: str, query: str) -> str:
    is_object = "/" in path.lstrip("/")
    if not is_object or query.split("=")[0] in ("tagging", "acl", "uploads", "uploadId", "retention", "legal-hold"):
        return ""
    return {"PUT": "PutObject", "DELETE": "DeleteObject"}.get(method, "")


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def _json(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


# ---- answers ----------------------------------------------------------------------------------

@dataclass
class Answer:
    """A complete HTTP response the layer sends instead of (or after) moto's."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def send(self, start_response: Any) -> list[bytes]:
        reason = {200: "OK", 400: "Bad Request", 409: "Conflict", 412: "Precondition Failed"}.get(self.status, "Error")
        headers = [h for h in self.headers if h[0].lower() != "content-length"]
        start_response(f"{self.status} {reason}", [*headers, ("Content-Length", str(len(self.body)))])
        return [self.body]


def error(request: AwsRequest, status: int, code: str, message: str) -> Answer:
    """An error as the request's protocol carries it, so botocore parses code and message as on AWS."""
    request_id = str(uuid.uuid4())
    if request.service == "s3":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
                f"<Key>{request.path_args.get('key', '')}</Key><RequestId>{request_id}</RequestId></Error>").encode()
        return Answer(status, [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)], body)
    if request.service == "iam":
        body = (f'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
                f"<Code>{code}</Code><Message>{message}</Message></Error><RequestId>{request_id}</RequestId>"
                "</ErrorResponse>").encode()
        return Answer(status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body)
    if request.service == "lambda":  # REST-JSON: the code travels in x-amzn-ErrorType
        body = json.dumps({"Type": "User", "message": message}).encode()
        return Answer(status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", code),
                               ("x-amzn-RequestId", request_id)], body)
    body = json.dumps({"__type": code, "message": message}).encode()
    return Answer(status, [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-RequestId", request_id)], body)


def ok_json(document: dict[str, Any]) -> Answer:
    body = json.dumps(document).encode()
    return Answer(200, [("Content-Type", "application/json"), ("x-amzn-RequestId", str(uuid.uuid4()))], body)
