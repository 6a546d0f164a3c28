"""`--log-format text|json`: one logging set-up for the mock's access log and uvicorn's own logs."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

ACCESS_FIELDS = ("method", "path", "query", "status", "duration_ms")


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the access fields when present."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({name: getattr(record, name) for name in ACCESS_FIELDS if hasattr(record, name)})
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line)


def configure_logging(log_format: str, level: int = logging.INFO) -> None:
    """Send every log line to stderr in the chosen format; uvicorn's loggers included."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonLineFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-5s %(name)s: %(message)s"))
    # No log line shows the thread, the process or the calling source line, so none is collected
    # per record (the logging module's documented optimisations): the access log is one record
    # per request.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    logging._srcfile = None
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Connexion notes at INFO, on every answer without a body (HEAD, 204), that it skipped
    # validating a body there is none of: a line per request that says nothing to a user.
    logging.getLogger("connexion.middleware.validation").setLevel(max(level, logging.WARNING) if level >= logging.INFO else level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
