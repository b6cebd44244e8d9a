"""Glue crawlers: refused by AWS while running, so updates and deletes wait for READY; the role may still be
propagating (Glue then answers InvalidInputException)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from .. import retry
from ..naming import role_name
from ..plan import FieldChange
from ..retry import CRAWLER_RUNNING, GLUE_ROLE_NOT_READY, call_with_retries
from .base import Kind, Request, Spec, missing_is_none
from .glue_tagged import NOT_FOUND, GlueTagged


@dataclass(frozen=True, eq=False)
class CrawlerSpec(Spec):
    kind: ClassVar[str] = "glue_crawler"
    role_arn: str = ""
    database: str = ""
    s3_targets: tuple[str, ...] = ()
    exclusions: tuple[str, ...] = ()
    schedule: str | None = None
    update_behavior: str = "UPDATE_IN_DATABASE"
    delete_behavior: str = "LOG"
    table_prefix: str = ""
    description: str = ""


BATCH_GET_CRAWLERS = 100  # names per BatchGetCrawlers call (its maximum)


class CrawlerHandler(GlueTagged):
    kind = CrawlerSpec.kind
    batched = True

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
        return self.read_many([spec])[0]

    def read_many(self, specs: list[Spec]) -> list[dict[str, Any] | None]:
        """BatchGetCrawlers (100 crawlers a call), then each crawler's tags."""
        glue = self.clients.client("glue")
        return self._batch_read(specs, lambda names: glue.batch_get_crawlers(CrawlerNames=names).get("Crawlers", []),
                                BATCH_GET_CRAWLERS, self._comparable)

    def _comparable(self, crawler: dict[str, Any]) -> dict[str, Any]:
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

    def update(self, spec: CrawlerSpec, changes: tuple[FieldChange, ...], current: dict[str, Any] | None = None) -> None:
        if any(c.field != "tags" for c in changes):
            glue = self.clients.client("glue")
            update = lambda: call_with_retries(  # noqa: E731 - a changed role may still be propagating
                lambda: glue.update_crawler(Name=spec.name, **self._definition(spec)), GLUE_ROLE_NOT_READY,
                retry.budgets.role_propagation, role_name(spec.role_arn))
            self._when_idle(spec.name, update)
        self._write_tags(spec, current)

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


KIND = Kind(
    spec=CrawlerSpec, handler=CrawlerHandler,
    reads=("glue:BatchGetCrawlers", "glue:GetCrawler", "glue:GetTags"),  # GetCrawler: waiting for it to be idle
    # CreateCrawler is authorised only on "*": the deployer policy grants it apart.
    writes=("glue:UpdateCrawler", "glue:DeleteCrawler", "glue:TagResource", "glue:UntagResource"),
    arns=lambda s, arns, p: [arns.crawler(p(s.name))],
    requests=lambda s, region: [Request("glue", "CreateCrawler", CrawlerHandler.create_kwargs(s))],
    tag_limit=(50, "Glue crawlers"),  # https://docs.aws.amazon.com/glue/latest/dg/monitor-tags.html
)
