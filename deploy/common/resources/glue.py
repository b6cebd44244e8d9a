"""Glue: the catalog database, PySpark jobs and crawlers."""
from __future__ import annotations

from typing import Any

from .. import retry
from ..plan import FieldChange
from ..naming import role_name
from ..retry import CRAWLER_RUNNING, GLUE_ROLE_NOT_READY, call_with_retries
from ..specs import CrawlerSpec, GlueDatabaseSpec, GlueJobSpec
from .base import ResourceHandler, missing_is_none, tag_delta

NOT_FOUND = "EntityNotFoundException"


class _GlueTagged(ResourceHandler):
    """Glue resources share one tagging API keyed by ARN."""

    def _role_arn(self, role: str | None) -> str | None:
        """Glue echoes the role as it was given, name or ARN; compare ARNs."""
        return role if not role or role.startswith("arn:") else self.arns.role(role)

    def _arn(self, name: str) -> str:
        raise NotImplementedError

    def read_tags(self, name: str) -> dict[str, str] | None:
        return self._tags_of_existing(name) if self._exists(name) else None

    def _exists(self, name: str) -> bool:
        raise NotImplementedError

    def _write_tags(self, spec: Any) -> None:
        glue = self.clients.client("glue")
        to_set, to_remove = tag_delta(self.read_tags(spec.name), spec.tags)
        if to_set:
            glue.tag_resource(ResourceArn=self._arn(spec.name), TagsToAdd=to_set)
        if to_remove:
            glue.untag_resource(ResourceArn=self._arn(spec.name), TagsToRemove=to_remove)

    def _tags_of_existing(self, name: str) -> dict[str, str]:
        found = self.clients.client("glue").get_tags(ResourceArn=self._arn(name))
        return dict(found.get("Tags", {}))


class GlueDatabaseHandler(_GlueTagged):
    kind = GlueDatabaseSpec.kind
    retained_on_removal = True  # dropping a database drops its tables' definitions; keep it, like a bucket

    def _arn(self, name: str) -> str:
        return self.arns.glue_database(name)

    def _exists(self, name: str) -> bool:
        glue = self.clients.client("glue")
        return missing_is_none(lambda: glue.get_database(Name=name), NOT_FOUND) is not None

    def desired(self, spec: GlueDatabaseSpec) -> dict[str, Any]:
        return {"description": spec.description}

    def read(self, spec: GlueDatabaseSpec) -> dict[str, Any] | None:
        glue = self.clients.client("glue")
        found = missing_is_none(lambda: glue.get_database(Name=spec.name), NOT_FOUND)
        if found is None:
            return None
        return {"description": found["Database"].get("Description", ""), "tags": self._tags_of_existing(spec.name)}

    @staticmethod
    def create_kwargs(spec: GlueDatabaseSpec) -> dict[str, Any]:
        """CreateDatabase's parameters (pure: aws_rules checks them against the service model before any call)."""
        return {"DatabaseInput": {"Name": spec.name, "Description": spec.description}, "Tags": spec.tags}

    def create(self, spec: GlueDatabaseSpec) -> None:
        self.clients.client("glue").create_database(**self.create_kwargs(spec))

    def update(self, spec: GlueDatabaseSpec, changes: tuple[FieldChange, ...]) -> None:
        if any(c.field == "description" for c in changes):
            self.clients.client("glue").update_database(Name=spec.name, DatabaseInput={"Name": spec.name, "Description": spec.description})
        self._write_tags(spec)

    def delete(self, name: str) -> None:  # pragma: no cover - retained
        self.clients.client("glue").delete_database(Name=name)


class GlueJobHandler(_GlueTagged):
    kind = GlueJobSpec.kind

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
        glue = self.clients.client("glue")
        found = missing_is_none(lambda: glue.get_job(JobName=spec.name), NOT_FOUND)
        if found is None:
            return None
        job = found["Job"]
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
            "tags": self._tags_of_existing(spec.name),
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

    def update(self, spec: GlueJobSpec, changes: tuple[FieldChange, ...]) -> None:
        if any(c.field != "tags" for c in changes):
            # UpdateJob replaces the whole definition, so the whole desired definition is sent.
            self.clients.client("glue").update_job(JobName=spec.name, JobUpdate=self._definition(spec))
        self._write_tags(spec)

    def delete(self, name: str) -> None:
        self.clients.client("glue").delete_job(JobName=name)


class CrawlerHandler(_GlueTagged):
    kind = CrawlerSpec.kind

    def _arn(self, name: str) -> str:
        return self.arns.crawler(name)

    def _exists(self, name: str) -> bool:
        glue = self.clients.client("glue")
        return missing_is_none(lambda: glue.get_crawler(Name=name), NOT_FOUND) is not None

    def desired(self, spec: CrawlerSpec) -> dict[str, Any]:
        return {
            "role": spec.role_arn,
            "database": spec.database,
            "s3_targets": self._targets(spec),
            "schedule": spec.schedule,
            "schema_change_policy": {"UpdateBehavior": spec.update_behavior, "DeleteBehavior": spec.delete_behavior},
            "table_prefix": spec.table_prefix,
            "description": spec.description,
        }

    def read(self, spec: CrawlerSpec) -> dict[str, Any] | None:
        glue = self.clients.client("glue")
        found = missing_is_none(lambda: glue.get_crawler(Name=spec.name), NOT_FOUND)
        if found is None:
            return None
        crawler = found["Crawler"]
        policy = crawler.get("SchemaChangePolicy", {})
        return {
            "role": self._role_arn(crawler.get("Role")),
            "database": crawler.get("DatabaseName"),
            "s3_targets": sorted(({"Path": t["Path"], "Exclusions": sorted(t.get("Exclusions", []))}
                                  for t in crawler.get("Targets", {}).get("S3Targets", [])), key=lambda t: t["Path"]),
            "schedule": (crawler.get("Schedule") or {}).get("ScheduleExpression") or None,
            "schema_change_policy": {"UpdateBehavior": policy.get("UpdateBehavior"), "DeleteBehavior": policy.get("DeleteBehavior")},
            "table_prefix": crawler.get("TablePrefix", ""),
            "description": crawler.get("Description", ""),
            "tags": self._tags_of_existing(spec.name),
        }

    @staticmethod
    def _targets(spec: CrawlerSpec) -> list[dict[str, Any]]:
        return [{"Path": p, "Exclusions": sorted(spec.exclusions)} for p in sorted(spec.s3_targets)]

    @staticmethod
    def _definition(spec: CrawlerSpec) -> dict[str, Any]:
        return {
            "Role": spec.role_arn,
            "DatabaseName": spec.database,
            "Description": spec.description,
            "Targets": {"S3Targets": CrawlerHandler._targets(spec)},
            "Schedule": spec.schedule or "",
            "SchemaChangePolicy": {"UpdateBehavior": spec.update_behavior, "DeleteBehavior": spec.delete_behavior},
            "TablePrefix": spec.table_prefix,
        }

    @staticmethod
    def create_kwargs(spec: CrawlerSpec) -> dict[str, Any]:
        """CreateCrawler's parameters (pure: aws_rules checks them against the service model before any call)."""
        definition = CrawlerHandler._definition(spec)
        if not spec.schedule:
            definition.pop("Schedule")
        return {"Name": spec.name, "Tags": spec.tags, **definition}

    def create(self, spec: CrawlerSpec) -> None:
        kwargs = self.create_kwargs(spec)
        glue = self.clients.client("glue")
        call_with_retries(lambda: glue.create_crawler(**kwargs), GLUE_ROLE_NOT_READY,
                          retry.budgets.role_propagation, role_name(spec.role_arn))

    def update(self, spec: CrawlerSpec, changes: tuple[FieldChange, ...]) -> None:
        if any(c.field != "tags" for c in changes):
            glue = self.clients.client("glue")
            update = lambda: call_with_retries(  # noqa: E731 - a changed role may still be propagating
                lambda: glue.update_crawler(Name=spec.name, **self._definition(spec)), GLUE_ROLE_NOT_READY,
                retry.budgets.role_propagation, role_name(spec.role_arn))
            self._when_idle(spec.name, update)
        self._write_tags(spec)

    def delete(self, name: str) -> None:
        glue = self.clients.client("glue")
        self._when_idle(name, lambda: glue.delete_crawler(Name=name))

    def _when_idle(self, name: str, call: Any) -> None:
        """AWS refuses UpdateCrawler/DeleteCrawler while the crawler runs (CrawlerRunningException): wait for
        it to be READY (bounded, shown as progress), then call; a run starting in between is waited out too."""
        glue = self.clients.client("glue")

        def idle() -> bool | None:
            found = missing_is_none(lambda: glue.get_crawler(Name=name), NOT_FOUND)
            return True if found is None or found["Crawler"].get("State") == "READY" else None

        budget = retry.budgets.crawler_running
        try:
            retry.wait_until(idle, budget, f"glue crawler {name} is running; waiting for it to finish")
        except retry.WaitTimeout:
            raise retry.WaitTimeout(f"glue crawler {name} is still running after {budget:.0f}s; wait for it or stop it "
                                    f"(aws glue stop-crawler --name {name}), then deploy again") from None
        call_with_retries(call, CRAWLER_RUNNING, budget, name)
