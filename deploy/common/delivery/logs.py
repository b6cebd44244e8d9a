"""Structured logs: one JSON object per line on stderr, fields passed as ``extra={"fields": {...}}``."""
from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, UTC
from typing import IO, Any

LOGGER_NAME = "deploy.delivery"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str, sort_keys=False)


def get_logger() -> logging.Logger:
    return logging.getLogger(LOGGER_NAME)


def configure_json_logging(stream: IO[str] | None = None, level: int = logging.INFO) -> logging.Logger:
    """Send the delivery logger to ``stream`` (stderr) as JSON lines; quiet werkzeug's text access log."""
    logger = get_logger()
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    return logger


def log(level: int, message: str, **fields: Any) -> None:
    get_logger().log(level, message, extra={"fields": fields})
