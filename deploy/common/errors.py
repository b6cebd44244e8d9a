"""Errors the CLI turns into one clear line and a non-zero exit.

Every message names what is wrong (a file, a field, a resource) so that a Jenkins log line is
enough to act on. Tracebacks are for bugs, not for bad input.
"""


class DeployerError(Exception):
    """Base class: an expected failure with a message fit for one line."""


class ConfigError(DeployerError):
    """The environment config (or a rules file) is missing, malformed or invalid."""


class ProjectError(DeployerError):
    """The project is unknown or its definitions are invalid."""


class AccountMismatchError(DeployerError):
    """The credentials belong to another AWS account than the config names."""


class AwsCallError(DeployerError):
    """An AWS call failed for good (after botocore's retries and ours)."""


class LockError(DeployerError):
    """Another deployment holds the environment's lock."""


class LimitError(DeployerError):
    """The plan would break a limit AWS enforces; nothing was changed."""


class StateError(DeployerError):
    """The deployer's own state (record, history) is unreadable or inconsistent."""


class StalePlanError(DeployerError):
    """What exists changed between the plan and the apply (another deployment?); nothing was applied."""


class ConflictError(DeployerError):
    """A resource we would manage is owned by another project or environment (its tags say so)."""
