"""P10: the platform on a large demo set (`aduan seed-demo`, 1,000,000 complaints by default).

- P10.seed: seconds `seed-demo` takes for N complaints (information; "minutes, not hours");
- P10.stats: the slowest statistics call's median (target ≤ 300 ms), every call in details;
- P10.sweep: one SLA sweep run over the whole set (≤ 2 s);
- P10.page: the public listing's page 5,000 by cursor over page 1 (≤ 1.2 ×);
- P10.create: create p50 with N complaints over create p50 with 10,000 (≤ 1.2 ×): a copy of
  the first 10,000 (a tenth of N in quick runs) on a platform of its own, the creates
  alternating between the two in rounds, no worker running;
- P10.export: peak resident memory of the routing service while it streams the CSV export
  of every complaint (< 200 MB).

Endpoints built elsewhere (the listing, the statistics, the export) are measured through the
paths of the issue; one that answers 404 is reported "not available" rather than failing."""

import asyncio
import json
import logging
import math
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from bench.figures.context import Context
from bench.figures.probes import wait_for
from bench.figures.workers import only
from bench.figures.workload import COMPLAINT_BODY, CREATE_PATH
from bench.report import Figure
from bench.stack import Platform
from services.cli import _seed_demo
from services.runtime import Runtime

log = logging.getLogger("bench")
STATS_CALLS: tuple[tuple[str, dict[str, str]], ...] = (
    ("/api/v1/stats/regions", {"level": "province"}),
    ("/api/v1/stats/regions", {"level": "regency"}),
    ("/api/v1/stats/regions", {"level": "province", "category": "infrastruktur"}),
    ("/api/v1/stats/ranking", {"level": "province"}),
    ("/api/v1/stats/ranking", {"level": "regency"}),
    ("/api/v1/stats/trends", {"measure": "completion_compliance"}),
    ("/api/v1/stats/trends", {"measure": "complaints", "region": "32"}),
)
LISTING = "/api/v1/complaints"
EXPORT = "/api/v1/exports/complaints.csv"
PAGE = 5_000
CREATE_BASE = 10_000
CREATE_ROUNDS = 5
CREATE_WARM_UP = 20
# The statistics' refresh cron runs every few seconds, so its catch-up after the seed is seen.
REFRESH = {"ADUAN_STATS_REFRESH_INTERVAL_SECONDS": "2"}


class NotAvailable(Exception):
    """The endpoint answered 404: not built (or not merged) yet."""


def unavailable(id_: str, figure: str, unit: str, target: str, why: str) -> Figure:
    return Figure(id_, figure, None, unit, target, None, details={"not_available": why})


async def timed_get(
    http: aiohttp.ClientSession, url: str, headers: dict[str, str], params: dict[str, str]
) -> tuple[float, Any]:
    started = time.perf_counter()
    async with http.get(url, params=params, headers=headers) as response:
        body = await response.read()
        elapsed = (time.perf_counter() - started) * 1000
        if response.status in {404, 405}:  # no such route (405: only its POST exists)
            raise NotAvailable(f"{url} answered {response.status}")
        if response.status != 200:
            raise RuntimeError(f"{url} answered {response.status}: {body[:300]!r}")
    return elapsed, body


async def stats_figure(platform: Platform, headers: dict[str, str], rounds: int) -> Figure:
    target = "≤ 300 ms"
    medians: dict[str, float] = {}
    async with aiohttp.ClientSession() as http:
        for path, params in STATS_CALLS:
            url = platform.gateway + path
            try:
                await timed_get(http, url, headers, params)  # warm
                times = [(await timed_get(http, url, headers, params))[0] for _ in range(rounds)]
            except NotAvailable as exc:
                return unavailable(
                    "P10.stats", "slowest statistics call p50", "ms", target, str(exc)
                )
            key = path + "?" + "&".join(f"{k}={v}" for k, v in params.items())
            medians[key] = round(statistics.median(times), 1)
    slowest = max(medians.values())
    return Figure(
        "P10.stats",
        "slowest statistics call p50",
        slowest,
        "ms",
        target,
        slowest <= 300,
        details={"p50_ms_by_call": medians, "rounds": rounds},
    )


async def stats_caught_up(platform: Platform, headers: dict[str, str], expected: int) -> bool:
    async with aiohttp.ClientSession() as http:
        try:
            _, body = await timed_get(
                http, platform.gateway + STATS_CALLS[0][0], headers, STATS_CALLS[0][1]
            )
        except NotAvailable:
            return True  # nothing to wait for
    items = json.loads(body)["items"]
    return sum(i["measures"]["complaints"]["value"] or 0 for i in items) >= expected


async def sweep_figure(platform: Platform) -> Figure:
    from routing.sla.sweep import sweep

    runtime = Runtime.create(platform.settings)
    try:
        started = time.perf_counter()
        handled = await sweep(runtime)
        seconds = time.perf_counter() - started
    finally:
        await runtime.close()
    return Figure(
        "P10.sweep",
        "one SLA sweep run",
        round(seconds, 3),
        "s",
        "≤ 2 s",
        seconds <= 2,
        details={"clocks_handled": handled},
    )


async def page_figure(platform: Platform, headers: dict[str, str], rounds: int) -> Figure:
    """Walks the listing by cursor to page 5,000 (or the last page of a smaller set), then
    times that page against page 1."""
    target = "≤ 1.2 × page 1"
    url = platform.gateway + LISTING
    async with aiohttp.ClientSession() as http:
        try:
            _, body = await timed_get(http, url, headers, {})
        except NotAvailable as exc:
            return unavailable("P10.page", "listing page 5,000 by cursor", "ms", target, str(exc))

        cursors: list[str | None] = [None]
        page = json.loads(body)
        while page.get("next_cursor") and len(cursors) < PAGE:
            cursors.append(page["next_cursor"])
            _, body = await timed_get(http, url, headers, {"cursor": page["next_cursor"]})
            page = json.loads(body)
        deep = cursors[-1]

        async def one(cursor: str | None) -> float:
            params = {"cursor": cursor} if cursor else {}
            return (await timed_get(http, url, headers, params))[0]

        first = statistics.median([await one(None) for _ in range(rounds)])
        last = statistics.median([await one(deep) for _ in range(rounds)])
    ratio = last / first if first else math.nan
    return Figure(
        "P10.page",
        f"listing page {len(cursors):,} by cursor",
        round(last, 1),
        "ms",
        target,
        ratio <= 1.2,
        baseline=round(first, 1),
        ratio=round(ratio, 2),
        details={"pages_walked": len(cursors), "page_size": len(page.get("items", []))},
    )


async def create_times(platform: Platform, count: int) -> list[float]:
    """Milliseconds of `count` creates through the gateway, one after the other."""
    times: list[float] = []
    async with aiohttp.ClientSession() as http:
        for _ in range(count):
            started = time.perf_counter()
            async with http.post(
                platform.gateway + CREATE_PATH,
                data=COMPLAINT_BODY,
                headers={"content-type": "application/json"},
            ) as response:
                await response.read()
                if response.status != 201:
                    raise RuntimeError(f"create answered {response.status}")
            times.append((time.perf_counter() - started) * 1000)
    return times


async def create_figure(
    platform: Platform, baseline: Platform, n: int, base: int, creates: int
) -> Figure:
    """Create p50 on `platform` (n complaints) over `baseline` (its first `base`, copied
    aside): the creates alternate between the two in rounds, so that both see the machine in
    the same state (a single baseline taken half an hour earlier, before the seed, drifted
    with the machine by more than the target's 20 %)."""
    for target in (platform, baseline):
        await create_times(target, CREATE_WARM_UP)  # connections, caches
    ours: list[float] = []
    theirs: list[float] = []
    rounds: list[tuple[float, float]] = []
    for _ in range(CREATE_ROUNDS):
        mine = await create_times(platform, creates // CREATE_ROUNDS)
        other = await create_times(baseline, creates // CREATE_ROUNDS)
        ours += mine
        theirs += other
        rounds.append((round(statistics.median(mine), 1), round(statistics.median(other), 1)))
    p50, base_p50 = statistics.median(ours), statistics.median(theirs)
    return Figure(
        "P10.create",
        f"create p50 with {n:,} complaints",
        round(p50, 1),
        "ms",
        f"≤ 1.2 × with {base:,}",
        p50 / base_p50 <= 1.2,
        baseline=round(base_p50, 1),
        ratio=round(p50 / base_p50, 2),
        details={"creates": len(ours), "baseline_complaints": base, "rounds_p50_ms": rounds},
    )


def peak_rss_mb(platform: Platform, name: str) -> float | None:
    """VmHWM (peak resident set) of the platform's child `name` (Linux)."""
    for _, child in platform.running:
        if child.name == f"{platform.tag}-{name}" and child.alive:
            status = Path(f"/proc/{child.process.pid}/status").read_text()
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    return None


async def export_figure(platform: Platform, headers: dict[str, str], rows: int) -> Figure:
    target = "< 200 MB"
    before = peak_rss_mb(platform, "routing")
    lines = 0
    started = time.perf_counter()
    timeout = aiohttp.ClientTimeout(total=3600)
    async with (
        aiohttp.ClientSession(timeout=timeout) as http,
        http.get(platform.gateway + EXPORT, headers=headers) as response,
    ):
        if response.status == 404:
            return unavailable("P10.export", "export peak RSS", "MB", target, f"{EXPORT}: 404")
        if response.status != 200:
            raise RuntimeError(f"the export answered {response.status}")
        async for chunk in response.content.iter_chunked(1 << 16):
            lines += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    peak = peak_rss_mb(platform, "routing")
    return Figure(
        "P10.export",
        f"export of {rows:,} rows: routing's peak RSS",
        None if peak is None else round(peak, 1),
        "MB",
        target,
        None if peak is None else peak < 200,
        details={
            "lines_streamed": lines,
            "seconds": round(seconds, 1),
            "peak_rss_before_mb": before and round(before, 1),
        },
    )


async def guarded(
    id_: str, figure: str, unit: str, target: str, measure: Callable[[], Awaitable[Figure]]
) -> Figure:
    """One figure; a failure is reported on its row and the others still run."""
    try:
        return await measure()
    except NotAvailable as exc:
        return unavailable(id_, figure, unit, target, str(exc))
    except Exception as exc:
        log.exception("%s failed", id_)
        return Figure(id_, figure, None, unit, target, False, details={"error": repr(exc)})


async def p10(ctx: Context) -> list[Figure]:
    cfg = ctx.config
    n = cfg.demo_complaints
    # 10,000 as the issue asks, but a tenth of a quick run's small set.
    base = CREATE_BASE if n > 2 * CREATE_BASE and not cfg.quick else min(max(n // 10, 100), n - 1)
    figures: list[Figure] = []
    headers = {"Authorization": f"Bearer {ctx.stack.admin_key}"}
    workers = only("routing", 1)

    async with ctx.stack.platform("p10", REFRESH) as platform:
        url = platform.settings.require_database_url()
        # The first `base` demo complaints, copied aside for the create baseline...
        started = time.monotonic()
        await _seed_demo(url, base, chunk=10_000)
        seeded = time.monotonic() - started
        async with ctx.stack.platform("p10base", copy_of=url) as baseline:
            # ...then the rest of the set beside them.
            started = time.monotonic()
            await _seed_demo(url, n - base, add=True, seed=11, chunk=10_000)
            seed_seconds = seeded + time.monotonic() - started
            figures.append(
                Figure(
                    "P10.seed",
                    f"seed-demo of {n:,} complaints",
                    round(seed_seconds, 1),
                    "s",
                    "minutes, not hours",
                    seed_seconds < 3600,
                    details={
                        "complaints_per_s": round(n / seed_seconds, 1),
                        "workers": os.cpu_count(),
                    },
                )
            )
            # Services only, no worker: the creates' events wait in the queues.
            await platform.start_services()
            await baseline.start_services()
            figures.append(
                await guarded(
                    "P10.create",
                    f"create p50 with {n:,} complaints",
                    "ms",
                    f"≤ 1.2 × with {base:,}",
                    lambda: create_figure(platform, baseline, n, base, cfg.p10_creates),
                )
            )
        await platform.scale_workers(workers)
        caught = time.monotonic()
        try:
            await wait_for(
                "statistics",
                lambda: stats_caught_up(platform, headers, n),
                cfg.p10_catch_up_timeout,
                2.0,
                platform,
            )
            catch_up: float | None = round(time.monotonic() - caught, 1)
        except TimeoutError:
            catch_up = None  # measured anyway, on what the statistics hold by now
        log.info("p10: statistics caught up after %s s", catch_up)
        # The sweep measured alone: the worker (and its cron) stopped.
        await platform.scale_workers(only("routing", 0))
        figures.append(
            await guarded(
                "P10.sweep", "one SLA sweep run", "s", "≤ 2 s", lambda: sweep_figure(platform)
            )
        )
        stats_row = await guarded(
            "P10.stats",
            "slowest statistics call p50",
            "ms",
            "≤ 300 ms",
            lambda: stats_figure(platform, headers, cfg.p10_rounds),
        )
        # None: the statistics had not caught up with the seed within the timeout.
        stats_row.details["statistics_catch_up_s"] = catch_up
        figures.append(stats_row)
        figures.append(
            await guarded(
                "P10.page",
                "listing page 5,000 by cursor",
                "ms",
                "≤ 1.2 × page 1",
                lambda: page_figure(platform, headers, cfg.p10_rounds),
            )
        )
        figures.append(
            await guarded(
                "P10.export",
                "export peak RSS",
                "MB",
                "< 200 MB",
                lambda: export_figure(platform, headers, n),
            )
        )
        await asyncio.sleep(0)
    return figures
