"""Errors of git-driven delivery; all are DeployerErrors, so the CLI prints them as one line."""
from ..common.errors import DeployerError


class DeliveryError(DeployerError):
    """A routing input (Jenkins variables, a git query, a setting) is missing or unusable."""


class PayloadError(DeliveryError):
    """A Bitbucket webhook body lacks a field its event key promises; the message names the field."""


class JenkinsTriggerError(DeliveryError):
    """Jenkins did not accept the build request (unreachable, refused, or an unexpected answer)."""
