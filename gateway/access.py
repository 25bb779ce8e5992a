"""One structured log line per request at the gateway (the services keep quiet by default).

The path is logged as its routing prefix, never in full: tracking ids and other identifiers in
paths stay out of the logs.
"""

import json

from starlette.types import Scope

from gateway.upstreams import ROUTES
from services.logging import get_logger
from services.middleware import ObservingMiddleware

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


class AccessLogMiddleware(ObservingMiddleware):
    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        state = scope.get("state", {})
        principal = state.get("principal")
        log.info(
            json.dumps(
                {
                    "method": scope["method"],
                    "route": path_template(scope),
                    "status": status,
                    "ms": round(seconds * 1000, 1),
                    "identity": getattr(principal, "kind", "anonymous"),
                    "request_id": state.get("request_id"),
                },
                separators=(",", ":"),
            )
        )
