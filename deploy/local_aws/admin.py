"""Talk to a running local AWS server over HTTP: health, moto config, reset (stdlib only, no moto import)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from deploy.common.errors import DeployerError

SERVICE_NAME = "pipeline-deployer-local-aws"
HEALTH_PATH = "/_local_aws/health"
REALISM_PATH = "/_local_aws/realism"
STATS_PATH = "/_local_aws/stats"  # AWS requests seen and the most in flight at once (GET; POST resets)

# Lambda without Docker (our extension runs the deployed zip instead) and Step Functions that really
# interpret the ASL. Both select a different moto backend, so they must be set before resources exist.
LOCAL_MOTO_CONFIG: dict[str, Any] = {
    "lambda": {"use_docker": False},
    "stepfunctions": {"execute_state_machine": True},
}


class LocalAwsError(DeployerError):
    """The local AWS server could not be started, reached or configured."""


def _request(endpoint: str, method: str, path: str, body: Any = None, timeout: float = 5.0) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode("utf-8")
    req = urllib.request.Request(endpoint.rstrip("/") + path, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def health(endpoint: str, timeout: float = 1.0) -> dict[str, Any] | None:
    """Our server's health record (service, pid, port, moto version), or None if nothing of ours answers."""
    try:
        code, raw = _request(endpoint, "GET", HEALTH_PATH, timeout=timeout)
    except (OSError, ValueError):
        return None
    if code != 200:
        return None
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    return record if isinstance(record, dict) and record.get("service") == SERVICE_NAME else None


def apply_moto_config(endpoint: str) -> None:
    """Set LOCAL_MOTO_CONFIG on the server (idempotent)."""
    code, raw = _request(endpoint, "POST", "/moto-api/config", LOCAL_MOTO_CONFIG)
    if code >= 300:
        raise LocalAwsError(f"local AWS at {endpoint}: setting moto config failed (HTTP {code}): {raw[:200]!r}")


def reset_local_aws(endpoint: str) -> None:
    """Drop every resource on the server, then re-apply our moto config (a reset must not fall back to Docker)."""
    code, raw = _request(endpoint, "POST", "/moto-api/reset")
    if code >= 300:
        raise LocalAwsError(f"local AWS at {endpoint}: reset failed (HTTP {code}): {raw[:200]!r}")
    apply_moto_config(endpoint)


def set_realism(endpoint: str, overrides: dict[str, Any], from_defaults: bool = False) -> dict[str, Any]:
    """Change the realism settings of a running server (``from_defaults``: start from its start-up values)."""
    code, raw = _request(endpoint, "POST", REALISM_PATH + ("?base=defaults" if from_defaults else ""), overrides)
    if code != 200:
        try:
            reason = json.loads(raw)["error"]
        except (ValueError, KeyError, TypeError):
            reason = f"HTTP {code}: {raw[:300]!r}"
        raise LocalAwsError(f"local AWS at {endpoint}: realism settings refused: {reason}")
    return json.loads(raw)


def get_realism(endpoint: str) -> dict[str, Any]:
    code, raw = _request(endpoint, "GET", REALISM_PATH)
    if code != 200:
        raise LocalAwsError(f"local AWS at {endpoint}: realism settings unavailable (HTTP {code})")
    return json.loads(raw)


def request_stats(endpoint: str, reset: bool = False) -> dict[str, int]:
    """AWS requests the server saw and the most it answered at once since the last reset (``reset``: start again)."""
    code, raw = _request(endpoint, "POST" if reset else "GET", STATS_PATH, {} if reset else None)
    if code != 200:
        raise LocalAwsError(f"local AWS at {endpoint}: request stats unavailable (HTTP {code})")
    return json.loads(raw)
