"""DescribeLogGroups with ``logGroupIdentifiers``, which moto 5.2.1 ignores (it would answer every group).

AWS API reference, DescribeLogGroups: ``logGroupIdentifiers`` (1 to 50) filters the answer to the groups named
("in an account that is not a cross-account monitoring account, you can specify only log group names in the same
account"); "if you specify this parameter, the only other filter that you can choose to specify is
includeLinkedAccounts"; the answer is ASCII-sorted by name, a name that matches no group is left out. The deployer
reads all of a project's log groups with one such call.
"""

from __future__ import annotations

import json

from moto.logs.exceptions import InvalidParameterException
from moto.logs.responses import LogsResponse

from deploy.local_aws.extensions.patching import wrap_method

MAX_IDENTIFIERS = 50
EXCLUSIVE = ("logGroupNamePrefix", "logGroupNamePattern", "logGroupClass", "nextToken")


def _name(identifier: str) -> str:
    """A group's name from its name or its ARN (``arn:…:log-group:NAME`` or ``…:NAME:*``)."""
    if identifier.startswith("arn:") and ":log-group:" in identifier:
        name = identifier.split(":log-group:", 1)[1]
        return name[:-2] if name.endswith(":*") else name
    return identifier


def apply() -> None:
    @wrap_method(LogsResponse, "describe_log_groups")
    def describe_log_groups(original, self: LogsResponse) -> str:
        identifiers = self._get_param("logGroupIdentifiers")
        if identifiers is None:
            return original(self)
        if not 1 <= len(identifiers) <= MAX_IDENTIFIERS:
            raise InvalidParameterException(constraint=f"Member must have length between 1 and {MAX_IDENTIFIERS}",
                                            parameter="logGroupIdentifiers", value=identifiers)
        if any(self._get_param(other) is not None for other in EXCLUSIVE):
            raise InvalidParameterException(
                "logGroupIdentifiers cannot be combined with another filter than includeLinkedAccounts")
        wanted = {_name(i) for i in identifiers}
        groups = sorted((g for name, g in self.logs_backend.groups.items() if name in wanted), key=lambda g: g.name)
        return json.dumps({"logGroups": [g.to_describe_dict() for g in groups]})
