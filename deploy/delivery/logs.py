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
    """Send the delivery logger (and waitress's warnings and errors) to ``stream`` (stderr) as JSON lines."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    for name, logger_level in ((LOGGER_NAME, level), ("waitress", logging.WARNING)):
        logger = logging.getLogger(name)
        for old in list(logger.handlers):
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(logger_level)
        logger.propagate = False
    return get_logger()


def log(level: int, message: str, **fields: Any) -> None:
    get_logger().log(level, message, extra={"fields": fields})
