"""Make a started crawler finish: RUNNING -> READY after CRAWL_SECONDS, with AWS's LastCrawl status names.

moto registers the "glue::crawl" transition as manual (advanced only by ListCrawls), so GetCrawler
shows RUNNING forever. We register a time-based default instead; a transition set through
/moto-api/state-manager/set-transition still takes precedence. moto reports LastCrawl.Status with
the crawl's state names (COMPLETED/STOPPED); AWS's LastCrawlInfo uses SUCCEEDED/CANCELLED/FAILED.
"""

from __future__ import annotations

from typing import Any

from moto.core.utils import utcnow
from moto.glue.models import FakeCrawl, FakeCrawler
from moto.moto_api import state_manager

from deploy.local_aws.extensions.patching import wrap_method

CRAWL_SECONDS = 1.0
_LAST_CRAWL_STATUS = {"COMPLETED": "SUCCEEDED", "STOPPED": "CANCELLED", "STOPPING": "RUNNING"}


def settle(crawl: FakeCrawl) -> str | None:
    """The crawl's current state; records its end time the first time it is seen finished."""
    current = crawl.status  # reading the status applies the state-manager transition
    if current in ("COMPLETED", "STOPPED", "FAILED") and crawl.end_time is None:
        crawl.end_time = utcnow()
    return current


def _as_dict(original: Any, self: FakeCrawler) -> dict[str, Any]:
    for crawl in self.crawls:
        settle(crawl)
    data = original(self)
    last = data.get("LastCrawl")
    if last:
        last["Status"] = _LAST_CRAWL_STATUS.get(last["Status"], last["Status"])
        if self.crawls[-1].status == "RUNNING":
            data["CrawlElapsedTime"] = int((utcnow() - self.crawls[-1].start_time).total_seconds() * 1000)
    return data


def set_crawl_seconds(seconds: float) -> None:
    """How long a started crawler stays RUNNING (the realism layer sets it; 1 s when realism is off)."""
    state_manager.register_default_transition("glue::crawl", {"progression": "time", "seconds": seconds})


def apply() -> None:
    set_crawl_seconds(CRAWL_SECONDS)
    wrap_method(FakeCrawler, "as_dict")(_as_dict)
