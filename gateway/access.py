"""One structured log line per request at the gateway (the services keep quiet by default).

The path is logged as its routing prefix, never in full: tracking ids and other identifiers in
paths stay out of the logs.
"""

import json
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.upstreams import ROUTES
from services.logging import get_logger

log = get_logger("aduan.access")


def path_template(scope: Scope) -> str:
    route = scope.get("route")
    template = getattr(route, "path", None)
    path: str = scope.get("path", "")
    if template and "{rest:path}" not in template:
        return str(template)
    for prefix, _service in ROUTES:
        if path == prefix:
            return prefix
        if path.startswith(prefix + "/"):
            return prefix + "/…"
    return "unmatched"


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            state = scope.get("state", {})
            principal = state.get("principal")
            log.info(
                json.dumps(
                    {
                        "method": scope["method"],
                        "route": path_template(scope),
                        "status": status,
                        "ms": round((time.perf_counter() - started) * 1000, 1),
                        "identity": getattr(principal, "kind", "anonymous"),
                        "request_id": state.get("request_id"),
                    },
                    separators=(",", ":"),
                )
            )
