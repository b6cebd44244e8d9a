"""Names and ARNs derived from config: ``{project}-{env}-{component}``, so environments never collide."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import botocore.session
from botocore.exceptions import UnknownRegionError


def resource_name(project: str, environment: str, component: str) -> str:
    return f"{project}-{environment}-{component}".lower()


@lru_cache(maxsize=None)
def partition_for(region: str) -> str:
    """The region's partition ('aws', 'aws-cn', 'aws-us-gov', ...) from botocore's bundled endpoint
    data: no AWS call, no credentials. ValueError for a region botocore places in no partition."""
    try:
        return botocore.session.Session().get_partition_for_region(region)
    except UnknownRegionError:
        raise ValueError(f"botocore knows no AWS partition for region {region!r}") from None


@dataclass(frozen=True)
class Arns:
    region: str
    account: str

    @property
    def partition(self) -> str:
        return partition_for(self.region)

    def _regional(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account}:{resource}"

    def role(self, name: str) -> str:
        return f"arn:{self.partition}:iam::{self.account}:role/{name}"

    def policy(self, name: str) -> str:
        return f"arn:{self.partition}:iam::{self.account}:policy/{name}"

    def bucket(self, name: str) -> str:
        return f"arn:{self.partition}:s3:::{name}"

    def objects(self, bucket: str, prefix: str = "") -> str:
        return f"arn:{self.partition}:s3:::{bucket}/{prefix}*"

    def function(self, name: str, qualifier: str | None = None) -> str:
        return self._regional("lambda", f"function:{name}" + (f":{qualifier}" if qualifier else ""))

    def log_group(self, name: str) -> str:
        return self._regional("logs", f"log-group:{name}")

    def log_streams(self, name: str) -> str:
        return self._regional("logs", f"log-group:{name}:log-stream:*")

    def glue_job(self, name: str) -> str:
        return self._regional("glue", f"job/{name}")

    def crawler(self, name: str) -> str:
        return self._regional("glue", f"crawler/{name}")

    def glue_catalog(self) -> str:
        return self._regional("glue", "catalog")

    def glue_database(self, name: str) -> str:
        return self._regional("glue", f"database/{name}")

    def glue_tables(self, database: str) -> str:
        return self._regional("glue", f"table/{database}/*")

    def state_machine(self, name: str) -> str:
        return self._regional("states", f"stateMachine:{name}")

    def executions(self, state_machine_name: str) -> str:
        return self._regional("states", f"execution:{state_machine_name}:*")

    def event_rule(self, name: str) -> str:
        return self._regional("events", f"rule/{name}")


def role_name(role_arn: str) -> str:
    """A role's name from its ARN (any path dropped), for messages."""
    return role_arn.rsplit("/", 1)[-1]
