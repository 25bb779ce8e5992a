"""The /ops dashboard in headless Chromium (Debian's `chromium`, driven by Playwright with no
browser download) against the real platform on demo data: it signs in as ops (an API key) and as
an admin (email and password), and every number it shows is compared with the statistics API.
Screenshots (laptop and phone) are saved under var/screenshots/ and their paths printed."""

import asyncio
import importlib.util
import math
import shutil
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from services.cli import _seed_demo
from services.db import create_sessionmaker
from services.settings import Settings
from tests.e2e.platform import ROOT, Platform, isolated_settings
from tests.factories import PASSWORD, add_account, add_api_key

pytestmark = [
    pytest.mark.e2e,
    # The page reads the statistics API (routing/stats, built on its own branch): without it
    # there is nothing to draw or compare.
    pytest.mark.skipif(
        importlib.util.find_spec("routing.stats") is None,
        reason="the statistics API (routing/stats) is not in this tree",
    ),
]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DEMO_COMPLAINTS = 600
SCREENSHOTS = ROOT / "var" / "screenshots"


@pytest.fixture(scope="module")
def settings(settings: Settings, servers: tuple[str, str]) -> Iterator[Settings]:
    with isolated_settings(settings, servers[0], "dashboard") as own:
        yield own


async def _people(url: str) -> tuple[str, str]:
    """(an ops API key, an admin's email) written straight into the database."""
    engine = create_async_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            _, ops_key = await add_api_key(session, role="ops", name="dashboard test")
            admin = await add_account(session, role="admin", email="ops-dashboard@example.id")
            await session.commit()
            return ops_key, admin.email
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def people(settings: Settings) -> tuple[str, str]:
    url = settings.require_database_url()
    asyncio.run(_seed_demo(url, DEMO_COMPLAINTS))
    return asyncio.run(_people(url))


@pytest.fixture(scope="module")
def platform(
    settings: Settings, people: tuple[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Platform]:
    running = Platform(
        settings,
        tmp_path_factory.mktemp("dashboard-logs"),
        extra_env={"ADUAN_STATS_REFRESH_INTERVAL_SECONDS": "1"},  # the statistics catch up soon
    )
    try:
        running.start()
        yield running
    finally:
        running.stop()


def get(platform: Platform, key: str, path: str, **params: str) -> Any:
    response = httpx.get(
        platform.gateway + path,
        params=params,
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def stats_ready(platform: Platform, people: tuple[str, str]) -> None:
    """Waits until the routing worker's statistics hold every demo complaint."""
    key = people[0]
    deadline = time.monotonic() + 300
    counted = 0.0
    while time.monotonic() < deadline:
        regions = get(platform, key, "/api/v1/stats/regions", level="province")
        counted = sum(r["measures"]["complaints"]["value"] or 0 for r in regions["items"])
        if counted >= DEMO_COMPLAINTS:
            return
        time.sleep(2)
    raise AssertionError(f"the statistics counted {counted} of {DEMO_COMPLAINTS} complaints")


def close(shown: str, expected: float | None) -> bool:
    if expected is None:
        return shown == ""
    return math.isclose(float(shown), expected, rel_tol=1e-6, abs_tol=1e-6)


def test_the_dashboard_shows_the_statistics_apis_numbers(
    platform: Platform, people: tuple[str, str], stats_ready: None
) -> None:
    from playwright.sync_api import sync_playwright

    ops_key, admin_email = people
    ranking = get(platform, ops_key, "/api/v1/stats/ranking", level="province")
    regions = get(platform, ops_key, "/api/v1/stats/regions", level="province")
    regencies = get(platform, ops_key, "/api/v1/stats/regions", level="regency")
    trend = get(platform, ops_key, "/api/v1/stats/trends", measure="complaints")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1366, "height": 900})
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.goto(platform.gateway + "/ops")

            # Ops sign in with their API key.
            page.fill("input[name=api_key]", ops_key)
            page.click("#login-form button[type=submit]")
            page.wait_for_selector("body[data-loaded=true]", timeout=60_000)

            total = sum(r["measures"]["complaints"]["value"] or 0 for r in regions["items"])
            assert total == DEMO_COMPLAINTS
            shown = page.get_attribute("#kpi-complaints", "data-value")
            assert shown is not None and float(shown) == total
            assert page.inner_text("#kpi-complaints").replace(".", "") == str(DEMO_COMPLAINTS)
            overdue = sum(r["measures"]["overdue"]["value"] or 0 for r in regions["items"])
            assert float(page.get_attribute("#kpi-overdue", "data-value") or "nan") == overdue

            # The tiles: every province, coloured by the ranking's grade.
            tiles = page.eval_on_selector_all(
                ".tile", "els => els.map(e => [e.dataset.code, e.dataset.grade, e.dataset.score])"
            )
            expected_tiles = {i["code"]: (i["grade"] or "", i["score"]) for i in ranking["items"]}
            assert len(tiles) == len(expected_tiles) == 38
            for code, grade, score in tiles:
                assert grade == expected_tiles[code][0], code
                assert close(score, expected_tiles[code][1]), code
            assert {g for _, g, _ in tiles} & {"Sangat Baik", "Baik", "Sedang", "Kurang"}

            # The ranking with its reasons, in rank order.
            rows = page.eval_on_selector_all(
                "#ranking tbody tr",
                "els => els.map(e => [e.dataset.code, e.querySelector('.reason').textContent])",
            )
            ranked = sorted(ranking["items"], key=lambda i: i["rank"] or 10**9)
            assert [c for c, _ in rows] == [i["code"] for i in ranked]
            assert [r for _, r in rows] == [i["reason"] for i in ranked]

            # SLA compliance per province (completion by default): one bar each.
            bars = dict(
                page.eval_on_selector_all(
                    "#sla-chart .sla-bar", "els => els.map(e => [e.dataset.code, e.dataset.value])"
                )
            )
            for region in regions["items"]:
                assert close(
                    bars[region["code"]], region["measures"]["completion_compliance"]["value"]
                ), region["code"]

            # The weekly trend, point by point.
            points = page.eval_on_selector_all(
                "#trend-chart .trend-point",
                "els => els.map(e => [e.dataset.week, e.dataset.value])",
            )
            assert [w for w, _ in points] == [p["week"] for p in trend["points"]]
            for (_, value), point in zip(points, trend["points"], strict=True):
                assert close(value, point["value"])

            # The overdue backlog: the kabupaten/kota with the most overdue first.
            overdue_rows = page.eval_on_selector_all(
                "#overdue tbody tr[data-code]",
                "els => els.map(e => [e.dataset.code, +e.dataset.overdue])",
            )
            by_code = {
                r["code"]: r["measures"]["overdue"]["value"] or 0 for r in regencies["items"]
            }
            assert overdue_rows, "no backlog shown"
            for code, value in overdue_rows:
                assert value == by_code[code], code
            assert [v for _, v in overdue_rows] == sorted(
                (v for _, v in overdue_rows), reverse=True
            )
            assert overdue_rows[0][1] == max(by_code.values())

            laptop = SCREENSHOTS / "ops-dashboard.png"
            page.screenshot(path=str(laptop), full_page=True)
            print(f"\nscreenshot: {laptop}")

            # A province picked on its tile: its kabupaten/kota are ranked.
            page.click(".tile[data-code='32']")
            page.wait_for_selector("body[data-loaded=true]", timeout=60_000)
            regency_ranking = get(platform, ops_key, "/api/v1/stats/ranking", level="regency")
            in_jabar = [
                i["code"]
                for i in sorted(regency_ranking["items"], key=lambda i: i["rank"] or 10**9)
                if i["code"].startswith("32.")
            ]
            shown_codes = page.eval_on_selector_all(
                "#ranking tbody tr", "els => els.map(e => e.dataset.code)"
            )
            assert shown_codes == in_jabar
            jabar = next(r for r in regions["items"] if r["code"] == "32")
            assert (
                float(page.get_attribute("#kpi-complaints", "data-value") or "nan")
                == (jabar["measures"]["complaints"]["value"])
            )

            # On a phone, after an admin's sign-in with email and password.
            page.click("#logout")
            phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
            phone.goto(platform.gateway + "/ops")
            phone.fill("input[name=username]", admin_email)
            phone.fill("input[name=password]", PASSWORD)
            phone.click("#login-form button[type=submit]")
            phone.wait_for_selector("body[data-loaded=true]", timeout=60_000)
            assert phone.get_attribute("#kpi-complaints", "data-value") == shown
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, "the page scrolls sideways on a phone"
            mobile = SCREENSHOTS / "ops-dashboard-phone.png"
            phone.screenshot(path=str(mobile), full_page=True)
            print(f"screenshot: {mobile}")
            assert problems == []
        finally:
            browser.close()
