"""How unkind the local AWS is: each real-AWS behaviour's delay or limit, on by default.

Defaults are short (seconds) so a local deploy stays fast while still exercising every wait and
retry the deployer needs on real AWS. They come from $PIPELINE_DEPLOYER_REALISM when the server
starts ("off", "on", or a JSON object of overrides, e.g. '{"iam_propagation_seconds": 1}') and can
be changed while it runs with POST /_local_aws/realism (same JSON; GET shows the current values).
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from typing import Any

ENV_VAR = "PIPELINE_DEPLOYER_REALISM"


@dataclass(frozen=True)
class Bucket:
    """A token bucket: ``size`` requests at once, refilled at ``refill_per_second``."""

    size: int
    refill_per_second: float


def _default_throttles() -> dict[str, Bucket]:
    # Step Functions API throttling quotas, Standard workflows, regions other than us-east-1,
    # us-west-2 and eu-west-1: https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html
    return {
        "states:GetExecutionHistory": Bucket(250, 5.0),
        "states:ListExecutions": Bucket(100, 2.0),
    }


@dataclass(frozen=True)
class RealismSettings:
    enabled: bool = True
    iam_propagation_seconds: float = 4.0      # a new or changed role is refused by Lambda, Glue and Step Functions
    lambda_pending_seconds: float = 2.0       # State: Pending after CreateFunction
    lambda_update_seconds: float = 2.0        # LastUpdateStatus: InProgress after each update
    crawler_run_seconds: float = 5.0          # a started crawler is RUNNING this long
    sfn_stale_read_seconds: float = 2.0       # DescribeStateMachine shows the old definition after an update
    events_failed_calls_per_rule: int = 1     # first PutTargets/RemoveTargets per rule: every entry fails
    s3_conflict_seconds: float = 2.0          # a conditional write right after a delete of the key: 409
    lambda_concurrency_limit: int = 1000      # account ConcurrentExecutions; unreserved must stay >= 100
    # Each AWS request is answered this much later (a round trip to AWS: tens of ms), whether or not ``enabled``
    # (e.g. '{"enabled": false, "call_latency_ms": 50}'). 0 by default: no wait or retry of the deployer depends
    # on it, and every local deploy and test would pay it; benchmarks set it to show whether a run is bound by
    # latency or by CPU.
    call_latency_ms: float = 0.0
    throttles: dict[str, Bucket] = field(default_factory=_default_throttles)

    def to_json(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["throttles"] = {k: [b.size, b.refill_per_second] for k, b in self.throttles.items()}
        return data

    def updated(self, overrides: dict[str, Any]) -> "RealismSettings":
        """A copy with ``overrides`` applied; unknown keys and wrong types are errors (ValueError)."""
        known = {f.name: f for f in dataclasses.fields(self)}
        changes: dict[str, Any] = {}
        for key, value in overrides.items():
            if key not in known:
                raise ValueError(f"unknown realism setting {key!r} (known: {', '.join(sorted(known))})")
            if key == "throttles":
                if not isinstance(value, dict):
                    raise ValueError("throttles must be an object of 'service:Operation': [size, refill_per_second]")
                merged = dict(self.throttles)
                for op, pair in value.items():
                    if pair is None:
                        merged.pop(op, None)
                    else:
                        size, refill = pair
                        merged[op] = Bucket(int(size), float(refill))
                changes[key] = merged
            elif key == "enabled":
                changes[key] = bool(value)
            else:
                kind = type(getattr(self, key))
                if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                    raise ValueError(f"realism setting {key} must be a number >= 0, got {value!r}")
                changes[key] = kind(value)
        return dataclasses.replace(self, **changes)


OFF = RealismSettings(enabled=False)


def from_environment(environ: dict[str, str] | None = None) -> RealismSettings:
    """The server's starting settings: $PIPELINE_DEPLOYER_REALISM ('on' by default, 'off', or JSON overrides)."""
    raw = (environ if environ is not None else os.environ).get(ENV_VAR, "").strip()
    if raw in ("", "on", "1", "true"):
        return RealismSettings()
    if raw in ("off", "0", "false"):
        return OFF
    try:
        overrides = json.loads(raw)
    except ValueError:
        raise ValueError(f"${ENV_VAR} must be 'on', 'off' or a JSON object, got {raw[:80]!r}") from None
    if not isinstance(overrides, dict):
        raise ValueError(f"${ENV_VAR} must be a JSON object of settings")
    return RealismSettings().updated(overrides)
