"""Environment for code we run on behalf of a service (a Lambda handler, a Glue script).

Built from scratch, not inherited: only a few OS variables pass through, AWS access points at this
server with dummy credentials, and shared config files are disabled so a developer's real AWS
profile can never be used by local runs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from deploy.local_aws.extensions.context import DUMMY_CREDENTIALS

_PASSTHROUGH = ("PATH", "HOME", "USER", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "SYSTEMROOT")
# What a Spark driver needs on top (the JVM and Spark's own settings).
SPARK_PASSTHROUGH = ("JAVA_HOME", "SPARK_HOME", "SPARK_LOCAL_IP", "PYSPARK_SUBMIT_ARGS", "HADOOP_HOME")


def child_env(
    *,
    endpoint: str,
    region: str,
    user_vars: Mapping[str, str] | None = None,
    extra: Mapping[str, str] | None = None,
    passthrough: tuple[str, ...] = (),
) -> dict[str, str]:
    env = {k: os.environ[k] for k in _PASSTHROUGH + passthrough if k in os.environ}
    env.update(user_vars or {})
    env.update(DUMMY_CREDENTIALS)
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_REGION=region,
        AWS_DEFAULT_REGION=region,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        PYTHONUNBUFFERED="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update(extra or {})
    return env
