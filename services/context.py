"""Per-request / per-job context, carried by contextvars: the W3C trace id and the request id.

The logging formatter (services/logging.py) writes both on every line; `record_event` stores the
trace id on each event, so the workers can carry on the trace of the request that caused it.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_trace_id: ContextVar[str | None] = ContextVar("trace_id", default=None)
_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def current_trace_id() -> str | None:
    return _trace_id.get()


def set_trace_id(value: str | None) -> None:
    _trace_id.set(value)


def current_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None) -> None:
    _request_id.set(value)


@contextmanager
def trace_context(trace_id: str | None, request_id: str | None = None) -> Iterator[None]:
    """Set both for a block, restoring what was there before."""
    trace_token = _trace_id.set(trace_id)
    request_token = _request_id.set(request_id)
    try:
        yield
    finally:
        _request_id.reset(request_token)
        _trace_id.reset(trace_token)
