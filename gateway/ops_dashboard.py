"""The ops dashboard: `/ops`, one page drawn in the browser from the statistics API.

The page and its assets (gateway/static/ops: plain JavaScript, CSS, no library, no CDN) are
public; the numbers are not: the page signs in through `POST /api/v1/auth/token` (an admin
account) or takes an ops API key, keeps the credential in sessionStorage, and calls
`/api/v1/stats/*` with it like any client. No inline script or style, so its
Content-Security-Policy (gateway/security.py `OPS_CSP`) allows only this origin."""

import html
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from services.seed import CATEGORIES

PAGE_PATH = "/ops"
STATIC_PREFIX = "/ops/static"
ASSETS = Path(__file__).parent / "static" / "ops"

router = APIRouter(tags=["ops"])


def mount_ops_assets(app: FastAPI) -> None:
    app.mount(STATIC_PREFIX, StaticFiles(directory=ASSETS), name="ops-static")


def _page() -> str:
    options = "".join(
        f'<option value="{html.escape(code)}">{html.escape(name)}</option>'
        for code, name, _ in CATEGORIES
    )
    return (ASSETS / "index.html").read_text().replace("{{CATEGORY_OPTIONS}}", options)


@router.get(
    PAGE_PATH,
    summary="Ops dashboard (HTML)",
    description="A page for people: provinces coloured by grade, the ranking with reasons, SLA "
    "compliance per province, the weekly trend and the overdue backlog, filterable by period, "
    "province and category. It signs in with an admin account or an ops API key and reads "
    "`/api/v1/stats/*`; its scripts and styles are served from "
    f"`{STATIC_PREFIX}/` (no CDN).",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {"example": "<!DOCTYPE html>..."}}}},
)
async def ops_dashboard() -> HTMLResponse:
    return HTMLResponse(_page())
