"""Which service owns which public path, and pooled HTTP clients per service: aiohttp for the
proxy hop (measured about 4x the requests/s of httpx here, see docs/performance.md), httpx for
the gateway's own low-volume calls (readiness, OpenAPI documents)."""

from http.cookiejar import CookieJar, DefaultCookiePolicy

import aiohttp
import httpx

from services.settings import Settings

SERVICES = ("intake", "routing", "notifications")

# Public path prefix -> owning service. Matching is by whole path segments.
ROUTES: tuple[tuple[str, str], ...] = (
    ("/api/v1/complaints", "intake"),
    ("/api/v1/me/complaints", "intake"),  # the rest of /api/v1/me is the gateway's own
    ("/api/v1/categories", "intake"),
    ("/api/v1/regions", "intake"),
    ("/open311", "intake"),
    ("/api/v1/agencies", "routing"),
    ("/api/v1/ops", "routing"),
    ("/api/v1/verification", "routing"),
    ("/api/v1/routing", "routing"),  # the disposition dry-run
    ("/api/v1/directory", "routing"),  # admin: categories' policy, disposition rules
    ("/api/v1/agency", "routing"),  # the agency inbox (not /api/v1/agencies: whole segments)
    ("/api/v1/webhooks", "notifications"),
    # statistics and exports (routing/stats)
    ("/api/v1/stats", "routing"),
    ("/api/v1/exports", "routing"),
    # notifications to people (issue 9, people): an account's own channels and language
    ("/api/v1/me/notification-preferences", "notifications"),
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


def create_proxy_sessions(settings: Settings) -> dict[str, aiohttp.ClientSession]:
    timeout = aiohttp.ClientTimeout(
        total=settings.proxy_timeout_seconds, connect=min(5.0, settings.proxy_timeout_seconds)
    )
    return {
        name: aiohttp.ClientSession(
            base_url=settings.service_url(name),
            timeout=timeout,
            # Idle connections are dropped after 30 s, before the services' 75 s keep-alive
            # ends: reusing one the server just closed would fail a request (a 502).
            connector=aiohttp.TCPConnector(limit=200, keepalive_timeout=30),
            # A shared client must not keep one caller's cookies and replay them for the next.
            cookie_jar=aiohttp.DummyCookieJar(),
            trust_env=False,  # never send internal traffic through an HTTP(S)_PROXY from the env
            auto_decompress=False,  # relay the body as the service sent it
            # Only what the proxy chooses to forward; aiohttp adds no Accept/Accept-Encoding.
            skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent"),
            headers={"user-agent": "aduan-gateway"},
        )
        for name in SERVICES
    }
