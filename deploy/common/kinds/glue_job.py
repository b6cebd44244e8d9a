"""Glue PySpark jobs: UpdateJob replaces the whole definition, so the whole desired definition is sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..plan import FieldChange
from .base import Kind, Request, Spec, missing_is_none
from .glue_tagged import NOT_FOUND, GlueTagged


@dataclass(frozen=True, eq=False)
class GlueJobSpec(Spec):
    kind: ClassVar[str] = "glue_job"
    role_arn: str = ""
    script_location: str = ""
    glue_version: str = "5.0"
    worker_type: str = "G.1X"
    number_of_workers: int = 2
    timeout_minutes: int = 60
    max_retries: int = 0
    max_concurrent_runs: int = 1
    default_arguments: dict[str, str] = field(default_factory=dict)
    description: str = ""


BATCH_GET_JOBS = 25  # names per BatchGetJobs call


class GlueJobHandler(GlueTagged):
    kind = GlueJobSpec.kind
    batched = True

    def _arn(self, name: str) -> str:
        return self.arns.glue_job(name)

    def _exists(self, name: str) -> bool:
        glue = self.clients.client("glue")
        return missing_is_none(lambda: glue.get_job(JobName=name), NOT_FOUND) is not None

    def desired(self, spec: GlueJobSpec) -> dict[str, Any]:
        return {
            "role": spec.role_arn,
            "script_location": spec.script_location,
            "glue_version": spec.glue_version,
            "worker_type": spec.worker_type,
            "number_of_workers": spec.number_of_workers,
            "timeout_minutes": spec.timeout_minutes,
            "max_retries": spec.max_retries,
            "max_concurrent_runs": spec.max_concurrent_runs,
            "default_arguments": dict(spec.default_arguments),
            "description": spec.description,
        }

    def read(self, spec: GlueJobSpec) -> dict[str, Any] | None:
        return self.read_many([spec])[0]

    def read_many(self, specs: list[Spec]) -> list[dict[str, Any] | None]:
        """BatchGetJobs (25 jobs a call), then each job's tags."""
        glue = self.clients.client("glue")
        return self._batch_read(specs, lambda names: glue.batch_get_jobs(JobNames=names).get("Jobs", []), BATCH_GET_JOBS,
                                self._comparable)

    def _comparable(self, job: dict[str, Any]) -> dict[str, Any]:
        return {
            "role": self._role_arn(job.get("Role")),
            "script_location": job.get("Command", {}).get("ScriptLocation"),
            "glue_version": job.get("GlueVersion"),
            "worker_type": job.get("WorkerType"),
            "number_of_workers": job.get("NumberOfWorkers"),
            "timeout_minutes": job.get("Timeout"),
            "max_retries": job.get("MaxRetries"),
            "max_concurrent_runs": job.get("ExecutionProperty", {}).get("MaxConcurrentRuns"),
            "default_arguments": job.get("DefaultArguments", {}),
            "description": job.get("Description", ""),
        }

    @staticmethod
    def _definition(spec: GlueJobSpec) -> dict[str, Any]:
        return {
            "Role": spec.role_arn,
            "Description": spec.description,
            "Command": {"Name": "glueetl", "ScriptLocation": spec.script_location, "PythonVersion": "3"},
            "DefaultArguments": dict(spec.default_arguments),
            "GlueVersion": spec.glue_version,
            "WorkerType": spec.worker_type,
            "NumberOfWorkers": spec.number_of_workers,
            "Timeout": spec.timeout_minutes,
            "MaxRetries": spec.max_retries,
            "ExecutionProperty": {"MaxConcurrentRuns": spec.max_concurrent_runs},
        }

    @staticmethod
    def create_kwargs(spec: GlueJobSpec) -> dict[str, Any]:
        """CreateJob's parameters (pure: aws_rules checks them against the service model before any call)."""
        return {"Name": spec.name, "Tags": spec.tags, **GlueJobHandler._definition(spec)}

    def create(self, spec: GlueJobSpec) -> None:
        self.clients.client("glue").create_job(**self.create_kwargs(spec))

    def update(self, spec: GlueJobSpec, changes: tuple[FieldChange, ...], current: dict[str, Any] | None = None) -> None:
        if any(c.field != "tags" for c in changes):
            # UpdateJob replaces the whole definition, so the whole desired definition is sent.
            self.clients.client("glue").update_job(JobName=spec.name, JobUpdate=self._definition(spec))
        self._write_tags(spec, current)

    def delete(self, name: str) -> None:
        self.clients.client("glue").delete_job(JobName=name)


KIND = Kind(
    spec=GlueJobSpec, handler=GlueJobHandler,
    reads=("glue:BatchGetJobs", "glue:GetJob", "glue:GetTags"),  # GetJob: whether a recorded job still exists
    writes=("glue:CreateJob", "glue:UpdateJob", "glue:DeleteJob", "glue:TagResource", "glue:UntagResource"),
    arns=lambda s, arns, p: [arns.glue_job(p(s.name))],
    requests=lambda s, region: [Request("glue", "CreateJob", GlueJobHandler.create_kwargs(s))],
    tag_limit=(50, "Glue jobs"),  # https://docs.aws.amazon.com/glue/latest/dg/monitor-tags.html
)
