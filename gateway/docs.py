"""The merged OpenAPI document and Swagger UI, whose assets are served from the installed
`fastapi_offline` package (Swagger UI 5, which renders OpenAPI 3.1) so the docs work with no
internet."""

import html
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from gateway.openapi import TITLE
from gateway.state import StateDep

STATIC_PREFIX = "/docs/static"
OPENAPI_URL = "/openapi.json"

router = APIRouter(tags=["ops"])

# Written out rather than fastapi's get_swagger_ui_html, to switch off the online validator badge
# (validatorUrl), which would call out to the internet.
_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" type="text/css" href="{static}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{static}/swagger-ui-bundle.js"></script>
<script>
window.ui = SwaggerUIBundle({{
  url: "{openapi}",
  dom_id: "#swagger-ui",
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  deepLinking: true,
  persistAuthorization: true,
  showExtensions: true,
  validatorUrl: null
}});
</script>
</body>
</html>
"""


def swagger_assets_dir() -> Path:
    return Path(fastapi_offline.__file__).parent / "static"


def mount_swagger_assets(app: FastAPI) -> None:
    app.mount(STATIC_PREFIX, StaticFiles(directory=swagger_assets_dir()), name="docs-static")


@router.get(
    OPENAPI_URL,
    summary="OpenAPI document of the whole platform",
    description="The gateway's own operations merged with those of every service, refreshed at "
    "most every 30 seconds. When a service is unreachable the document is partial: "
    "`x-aduan-unavailable` lists the missing services and `info.description` says so.",
    responses={
        200: {
            "description": "An OpenAPI 3.1 document",
            "content": {
                "application/json": {
                    "example": {
                        "openapi": "3.1.0",
                        "info": {"title": TITLE, "version": "0.1.0"},
                        "paths": {"/api/v1/complaints": {"post": {"summary": "File a complaint"}}},
                        "x-aduan-unavailable": [],
                    }
                }
            },
        }
    },
)
async def openapi_document(state: StateDep) -> JSONResponse:
    document: dict[str, Any] = await state.openapi.document()
    return JSONResponse(document)


@router.get(
    "/docs",
    summary="API documentation (Swagger UI)",
    description=f"Swagger UI over `{OPENAPI_URL}`, with its scripts and styles served by the "
    f"gateway under `{STATIC_PREFIX}/` (no CDN), so it works offline.",
    response_class=HTMLResponse,
    responses={200: {"content": {"text/html": {"example": "<!DOCTYPE html>..."}}}},
)
async def swagger_ui() -> HTMLResponse:
    return HTMLResponse(
        _PAGE.format(title=html.escape(TITLE), static=STATIC_PREFIX, openapi=OPENAPI_URL)
    )
