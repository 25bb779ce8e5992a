"""W3C Trace Context (`traceparent`): parse what a caller sent, start a trace, pass it on.

`traceparent: 00-<trace id: 32 hex>-<parent id: 16 hex>-<flags: 2 hex>`. The gateway keeps a
valid incoming trace id (anything else starts a new trace), gives each hop a span id of its own,
and forwards `00-<trace id>-<its span id>-<flags>` to the service. The trace id then travels in
the logging context, the events (`events.trace_id`), the workers' jobs and the outbound webhooks.
"""

import re
import secrets
from dataclasses import dataclass

TRACEPARENT_HEADER = "traceparent"
SAMPLED = "01"  # we record every trace (in the logs), so a trace we start says so
_HEX = re.compile(r"[0-9a-f]+")
_INVALID_TRACE_ID = "0" * 32
_INVALID_SPAN_ID = "0" * 16


@dataclass(frozen=True)
class TraceParent:
    trace_id: str
    parent_id: str
    flags: str = SAMPLED

    def header(self) -> str:
        return f"00-{self.trace_id}-{self.parent_id}-{self.flags}"

    def child(self) -> "TraceParent":
        """The same trace, one hop further: a new span id as the parent of the next call."""
        return TraceParent(self.trace_id, new_span_id(), self.flags)


def new_trace_id() -> str:
    return secrets.token_hex(16)


def new_span_id() -> str:
    return secrets.token_hex(8)


def is_trace_id(value: str | None) -> bool:
    return (
        value is not None
        and len(value) == 32
        and _HEX.fullmatch(value) is not None
        and value != _INVALID_TRACE_ID
    )


def _is_hex(value: str, length: int) -> bool:
    return len(value) == length and _HEX.fullmatch(value) is not None


def parse_traceparent(value: str | None) -> TraceParent | None:
    """The parsed header, or None when it is absent or invalid (the caller starts a new trace).

    Version 00 must be exactly 55 characters. A later version is read by its first four fields
    if what follows them starts with "-" (the spec's forward compatibility); version ff, upper
    case hex and all-zero ids are invalid.
    """
    if not value:
        return None
    value = value.strip(" \t")
    version = value[:2]
    if not _is_hex(version, 2) or version == "ff":
        return None
    if version == "00" and len(value) != 55:
        return None
    if len(value) < 55 or (len(value) > 55 and value[55] != "-"):
        return None
    if value[2] != "-" or value[35] != "-" or value[52] != "-":
        return None
    trace_id, parent_id, flags = value[3:35], value[36:52], value[53:55]
    if not (is_trace_id(trace_id) and _is_hex(parent_id, 16) and _is_hex(flags, 2)):
        return None
    if parent_id == _INVALID_SPAN_ID:
        return None
    if version != "00":
        flags = f"{int(flags, 16) & 0x01:02x}"  # only the flags version 00 defines
    return TraceParent(trace_id, parent_id, flags)


def incoming_or_new(values: list[str]) -> tuple[TraceParent, bool]:
    """The caller's trace (one valid header: several cannot be combined) with a new span id of
    ours, or a new trace; and whether the caller's was kept."""
    parsed = parse_traceparent(values[0]) if len(values) == 1 else None
    if parsed is None:
        return TraceParent(new_trace_id(), new_span_id()), False
    return parsed.child(), True


def traceparent_for(trace_id: str | None) -> str:
    """A header for an outbound call made on behalf of `trace_id` (a new trace if it is not a
    W3C trace id), with a new span id."""
    if not is_trace_id(trace_id):
        trace_id = new_trace_id()
    assert trace_id is not None
    return TraceParent(trace_id, new_span_id()).header()
