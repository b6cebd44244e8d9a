"""The local Spark settings of Glue job runs (the Spark worker's one session), and of the benchmark floor.

Standard library only: the Spark worker imports this as a sibling module (it runs by path), the
benchmark as deploy.local_aws.runtime.spark_settings.
"""

from __future__ import annotations

import os
from pathlib import Path

# The JVM's heap. One JVM serves every Glue run of the server's lifetime; 2g holds a 1M-row input
# (57 MB of CSV) with room to spare. PIPELINE_DEPLOYER_SPARK_DRIVER_MEMORY overrides it (e.g. 4g).
ENV_DRIVER_MEMORY = "PIPELINE_DEPLOYER_SPARK_DRIVER_MEMORY"
DEFAULT_DRIVER_MEMORY = "2g"

# Local Spark: every core, loopback only, no UI, few shuffle partitions (small data), quiet logs.
SPARK_DEFAULTS = {
    "spark.master": "local[*]",
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "4",
}

LOG4J2 = """rootLogger.level = warn
rootLogger.appenderRef.stdout.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{yy/MM/dd HH:mm:ss} %p %c{1}: %m%n
"""


def driver_memory() -> str:
    return os.environ.get(ENV_DRIVER_MEMORY) or DEFAULT_DRIVER_MEMORY


def spark_conf(work_dir: Path) -> dict[str, str]:
    """Settings for a SparkSession whose scratch files (warehouse, Derby) stay under work_dir."""
    work_dir = Path(work_dir).resolve()
    return {
        **SPARK_DEFAULTS,
        "spark.driver.memory": driver_memory(),
        "spark.sql.warehouse.dir": str(work_dir / "spark-warehouse"),
        "spark.driver.extraJavaOptions": f"-Dderby.system.home={work_dir}",
    }
