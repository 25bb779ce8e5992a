"""The /ops dashboard page: served by the gateway with its own assets, under a
Content-Security-Policy with no inline code and nothing from another origin."""

import re

import httpx


def directives(header: str) -> dict[str, str]:
    return {
        name: sources
        for name, _, sources in (directive.partition(" ") for directive in header.split("; "))
    }


async def test_the_ops_page_loads_its_own_assets_under_a_strict_policy(
    gateway: httpx.AsyncClient,
) -> None:
    page = await gateway.get("/ops")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<html lang="id">' in page.text  # Bahasa Indonesia first
    csp = directives(page.headers["content-security-policy"])
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'"
    assert csp["connect-src"] == "'self'"
    assert "unsafe" not in page.headers["content-security-policy"]
    # No inline script or style to need an exception, and nothing from elsewhere.
    assert re.search(r"<script>|<style|\sstyle=", page.text) is None
    assert re.search(r'(?:src|href)="(?:https?:)?//', page.text) is None
    assets = re.findall(r'(?:src|href)="(/[^"]+)"', page.text)
    assert sorted(assets) == ["/ops/static/ops.css", "/ops/static/ops.js"]
    for asset in assets:
        loaded = await gateway.get(asset)
        assert loaded.status_code == 200, asset
        assert loaded.headers["x-content-type-options"] == "nosniff"
        assert len(loaded.content) > 1000


async def test_the_ops_page_offers_every_category_as_a_filter(
    gateway: httpx.AsyncClient,
) -> None:
    page = await gateway.get("/ops")

    assert '<option value="korupsi_pungli">Korupsi dan Pungutan Liar</option>' in page.text
    assert "{{" not in page.text
