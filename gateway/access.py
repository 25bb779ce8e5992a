"""One JSON log line per request at the gateway (the services keep quiet by default).

The path is logged as its routing prefix, never in full: tracking ids and other identifiers in
paths stay out of the logs.
"""

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
    """One INFO line per request: method, route prefix, status, latency, identity kind and role,
    request and trace ids. Never the path itself, headers, query, body or the principal's ids."""

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        state = scope.get("state", {})
        principal = state.get("principal")
        trace = state.get("trace")
        method = scope["method"]
        route = path_template(scope)
        log.info(
            "%s %s %d",
            method,
            route,
            status,
            extra={
                "method": method,
                "route": route,
                "status": status,
                "ms": round(seconds * 1000, 1),
                "identity": getattr(principal, "kind", "anonymous"),
                "role": getattr(principal, "role", "anonymous"),
                "request_id": state.get("request_id"),
                "trace_id": getattr(trace, "trace_id", None),
            },
        )
