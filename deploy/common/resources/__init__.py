"""One handler per resource kind, looked up by the spec's ``kind``."""
from __future__ import annotations

from ..aws_common import AwsClients
from ..naming import Arns
from .base import ResourceHandler
from .events import EventRuleHandler
from .glue import CrawlerHandler, GlueDatabaseHandler, GlueJobHandler
from .iam import RoleHandler
from .iam_policy import ManagedPolicyHandler
from .lambda_fn import FunctionHandler
from .logs import LogGroupHandler
from .s3 import BucketHandler, ObjectHandler
from .stepfunctions import StateMachineHandler

HANDLER_TYPES: tuple[type[ResourceHandler], ...] = (
    BucketHandler, ObjectHandler, ManagedPolicyHandler, RoleHandler, LogGroupHandler, FunctionHandler,
    GlueDatabaseHandler, GlueJobHandler, CrawlerHandler, StateMachineHandler, EventRuleHandler,
)
KNOWN_KINDS = frozenset(h.kind for h in HANDLER_TYPES)


def build_handlers(clients: AwsClients, arns: Arns) -> dict[str, ResourceHandler]:
    return {h.kind: h(clients, arns) for h in HANDLER_TYPES}
