"""Glue actions moto 5.2.1 lacks: UpdateJob, UpdateCrawler, GetCrawlerMetrics; DeleteCrawler refuses a running crawler."""

from __future__ import annotations

import statistics
from typing import Any

from moto.core.responses import ActionResult
from moto.core.utils import utcnow
from moto.glue.exceptions import CrawlerRunningException
from moto.glue.models import FakeCrawler, FakeJob, GlueBackend
from moto.glue.responses import GlueResponse

from deploy.local_aws.extensions.patching import add_method, wrap_method

# JobUpdate field -> FakeJob attribute. AWS: "The previous job definition is completely overwritten
# by this information", so a field missing from JobUpdate is cleared, not kept.
_JOB_FIELDS = {
    "Description": "description",
    "LogUri": "log_uri",
    "Role": "role",
    "ExecutionProperty": "execution_property",
    "Command": "command",
    "DefaultArguments": "default_arguments",
    "NonOverridableArguments": "non_overridable_arguments",
    "Connections": "connections",
    "MaxRetries": "max_retries",
    "AllocatedCapacity": "allocated_capacity",
    "Timeout": "timeout",
    "MaxCapacity": "max_capacity",
    "WorkerType": "worker_type",
    "NumberOfWorkers": "number_of_workers",
    "SecurityConfiguration": "security_configuration",
    "NotificationProperty": "notification_property",
    "GlueVersion": "glue_version",
    "CodeGenConfigurationNodes": "code_gen_configuration_nodes",
    "ExecutionClass": "execution_class",
    "SourceControlDetails": "source_control_details",
}
# Values moto's create_job gives a missing field (see FakeJob.__init__).
_JOB_DEFAULTS: dict[str, Any] = {"execution_property": {}, "default_arguments": {}, "execution_class": "STANDARD"}

# CrawlerUpdate field -> FakeCrawler attribute. UpdateCrawler changes only the fields given.
_CRAWLER_FIELDS = {
    "Role": "role",
    "DatabaseName": "database_name",
    "Description": "description",
    "Targets": "targets",
    "Schedule": "schedule",
    "Classifiers": "classifiers",
    "TablePrefix": "table_prefix",
    "SchemaChangePolicy": "schema_change_policy",
    "RecrawlPolicy": "recrawl_policy",
    "LineageConfiguration": "lineage_configuration",
    "Configuration": "configuration",
    "CrawlerSecurityConfiguration": "crawler_security_configuration",
}


def update_job_definition(job: FakeJob, job_update: dict[str, Any]) -> None:
    for field, attr in _JOB_FIELDS.items():
        value = job_update.get(field)
        setattr(job, attr, value if value is not None else _JOB_DEFAULTS.get(attr))
    job.last_modified_on = utcnow()


def update_crawler_definition(crawler: FakeCrawler, params: dict[str, Any]) -> None:
    if crawler.status != "READY":
        raise CrawlerRunningException(f"Crawler with name {crawler.name} has already started")
    for field, attr in _CRAWLER_FIELDS.items():
        if field in params:
            setattr(crawler, attr, params[field])
    crawler.version += 1
    crawler.last_updated = utcnow()


def crawler_metrics(crawler: FakeCrawler) -> dict[str, Any]:
    runtimes = [
        (crawl.end_time - crawl.start_time).total_seconds()
        for crawl in crawler.crawls
        if crawl.end_time is not None
    ]
    running = crawler.status == "RUNNING"
    return {
        "CrawlerName": crawler.name,
        "TimeLeftSeconds": 0.0,
        "StillEstimating": running,
        "LastRuntimeSeconds": runtimes[-1] if runtimes else 0.0,
        "MedianRuntimeSeconds": statistics.median(runtimes) if runtimes else 0.0,
        "TablesCreated": 0,
        "TablesUpdated": 0,
        "TablesDeleted": 0,
    }


def _update_job(self: GlueResponse) -> ActionResult:
    name = self._get_param("JobName")
    job = self.glue_backend.get_job(name)  # EntityNotFoundException for an unknown name
    update_job_definition(job, self._get_param("JobUpdate") or {})
    return ActionResult({"JobName": name})


def _update_crawler(self: GlueResponse) -> ActionResult:
    params = self.parameters
    crawler = self.glue_backend.get_crawler(params.get("Name"))  # EntityNotFoundException
    update_crawler_definition(crawler, params)
    return ActionResult({})


def _get_crawler_metrics(self: GlueResponse) -> ActionResult:
    """Metrics for the named crawlers (all when no list); unknown names are left out."""
    names = self._get_param("CrawlerNameList")
    crawlers = self.glue_backend.get_crawlers()
    if names:
        crawlers = [c for c in crawlers if c.name in set(names)]
    return ActionResult({"CrawlerMetricsList": [crawler_metrics(c) for c in crawlers]})


def _delete_crawler(original: Any, self: GlueBackend, name: str) -> None:
    """AWS refuses to delete a crawler while it runs (DeleteCrawler: CrawlerRunningException); moto deletes it."""
    crawler = self.crawlers.get(name)
    if crawler is not None and crawler.status != "READY":
        raise CrawlerRunningException("The operation cannot be performed because the crawler is already running.")
    original(self, name)


def apply() -> None:
    wrap_method(GlueBackend, "delete_crawler")(_delete_crawler)
    add_method(GlueResponse, "update_job", _update_job)
    add_method(GlueResponse, "update_crawler", _update_crawler)
    add_method(GlueResponse, "get_crawler_metrics", _get_crawler_metrics)
