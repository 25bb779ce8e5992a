"""Logs are JSON lines on stderr, in every process: one object per line with `time`, `level`,
`logger`, `message`, `trace_id` and `request_id` (from services.context, or given per line), and
whatever the call passed in `extra=` (`log.info("routed", extra={"event_id": ...})`).

Never log secrets, tokens, tracking ids or personal data: name events and rows by their ids.
"""

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

from services.context import current_request_id, current_trace_id

# The attributes every LogRecord has: anything else on a record came from `extra=`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",  # uvicorn's copy of the message with terminal colours
}
# Servers and libraries that install handlers of their own: their lines go through ours.
_LIBRARY_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "arq", "arq.worker")


# PostgreSQL's DETAIL line quotes row values ("Key (email)=(siti@…) already exists", "Failing
# row contains (…)"); asyncpg puts it into its exception's text, so tracebacks would carry it.
_PG_DETAIL = re.compile(r'DETAIL:(?:\s|\\n)*(?:[^\\\n"]|\\[^n])*')


def _withhold_details(line: str) -> str:
    """The JSON line with each DETAIL text (up to its escaped line end) withheld."""
    return _PG_DETAIL.sub("DETAIL: (withheld: it may quote personal data)", line)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "trace_id": getattr(record, "trace_id", None) or current_trace_id(),
            "request_id": getattr(record, "request_id", None) or current_request_id(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in line:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        text = json.dumps(line, ensure_ascii=False, default=str, separators=(",", ":"))
        return _withhold_details(text) if "DETAIL:" in text else text


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time (test runners swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)


def configure_logging(level: str) -> None:
    """One JSON handler on the root logger. Like `logging.basicConfig`, it leaves a root logger
    that already has handlers alone (a second call, a test runner's)."""
    root = logging.getLogger()
    if not root.handlers:
        handler = _StderrHandler()
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
        root.setLevel(level.upper())
    for name in _LIBRARY_LOGGERS:
        # Their own handlers (plain text) give way to ours; a logger they switched off
        # (uvicorn.access without ADUAN_ACCESS_LOG: it would log full paths) stays off.
        library = logging.getLogger(name)
        if library.handlers:
            library.handlers.clear()
            library.propagate = True
    # One line per outbound call doubles the logs of the gateway and the webhook sender.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # arq logs two lines per job (start, result): at hundreds of jobs a second that is most of
    # a worker's log and a few per cent of its CPU. Failures and retries still show (WARNING+);
    # ADUAN_LOG_LEVEL=DEBUG brings the job lines back.
    if logging.getLevelName(level.upper()) != logging.DEBUG:
        logging.getLogger("arq.worker").setLevel(logging.WARNING)


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)
