"""Swagger UI works offline: everything it loads comes from the gateway."""

import re

import httpx


async def test_docs_reference_only_local_assets(gateway: httpx.AsyncClient) -> None:
    response = await gateway.get("/docs")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "http://" not in page and "https://" not in page and "//cdn" not in page
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets, "the page loads no assets"
    assert all(asset.startswith("/docs/static/") for asset in assets), assets
    assert '"/openapi.json"' in page


async def test_docs_assets_are_served(gateway: httpx.AsyncClient) -> None:
    page = (await gateway.get("/docs")).text
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)

    for asset in assets:
        response = await gateway.get(asset)
        assert response.status_code == 200, asset
        assert response.content, asset
    script = await gateway.get("/docs/static/swagger-ui-bundle.js")
    assert "javascript" in script.headers["content-type"]
    assert "SwaggerUIBundle" in script.text


async def test_fastapi_default_docs_are_off(gateway: httpx.AsyncClient) -> None:
    assert (await gateway.get("/redoc")).status_code == 404
    assert (await gateway.get("/docs/oauth2-redirect")).status_code == 404
