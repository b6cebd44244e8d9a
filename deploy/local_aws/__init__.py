"""The embedded local AWS: moto in server mode, plus extensions for the APIs moto lacks.

Importing this package never imports moto; only the server process does (see server.py).
"""

from deploy.local_aws.admin import (
    LOCAL_MOTO_CONFIG,
    LocalAwsError,
    apply_moto_config,
    health,
    reset_local_aws,
)
from deploy.common.execution_watch import follow_execution, wait_for_execution
from deploy.local_aws.manager import (
    default_state_dir,
    ensure_running,
    status,
    stop,
)

__all__ = [
    "LOCAL_MOTO_CONFIG",
    "LocalAwsError",
    "apply_moto_config",
    "default_state_dir",
    "ensure_running",
    "follow_execution",
    "health",
    "reset_local_aws",
    "status",
    "stop",
    "wait_for_execution",
]
