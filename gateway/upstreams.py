"""Which service owns which public path, and one pooled HTTP client per service."""

from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx

from services.settings import Settings

SERVICES = ("intake", "routing", "notifications")

# Public path prefix -> owning service. Matching is by whole path segments.
ROUTES: tuple[tuple[str, str], ...] = (
    ("/api/v1/complaints", "intake"),
    ("/api/v1/categories", "intake"),
    ("/api/v1/regions", "intake"),
    ("/open311", "intake"),
    ("/api/v1/agencies", "routing"),
    ("/api/v1/ops", "routing"),
    ("/api/v1/webhooks", "notifications"),
)


def upstream_for(path: str) -> str | None:
    """The service that serves `path`, or None when the gateway routes it nowhere."""
    if any(segment in {".", ".."} for segment in path.split("/")):
        # Upstream URL normalisation would resolve these and reach a path we did not route.
        return None
    for prefix, service in ROUTES:
        if path == prefix or path.startswith(prefix + "/"):
            return service
    return None


def create_clients(settings: Settings) -> dict[str, httpx.AsyncClient]:
    timeout = httpx.Timeout(
        settings.proxy_timeout_seconds, connect=min(5.0, settings.proxy_timeout_seconds)
    )
    return {
        name: httpx.AsyncClient(
            base_url=settings.service_url(name),
            timeout=timeout,
            # retries=1 repeats only failed connects (nothing was sent), so it is safe for POST.
            transport=httpx.AsyncHTTPTransport(
                retries=1, limits=httpx.Limits(max_connections=200, max_keepalive_connections=50)
            ),
            follow_redirects=False,
            # A shared client must not keep one caller's cookies and replay them for the next.
            cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
            trust_env=False,  # never send internal traffic through an HTTP(S)_PROXY from the env
            headers={"user-agent": "aduan-gateway"},
        )
        for name in SERVICES
    }
