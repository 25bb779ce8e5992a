"""P1: creates/s through the gateway against three baselines."""

import asyncio
import math
import time
from typing import Any

import aiohttp

from bench.baselines import uvicorn_argv
from bench.figures.context import Context
from bench.figures.probes import (
    wait_drained,
)
from bench.figures.workload import COMPLAINT_BODY, CREATE_PATH
from bench.load import LoadResult, median
from bench.report import Figure
from bench.stack import Child
from services.embedded import free_port


async def wait_http(url: str, child: Child, within: float = 30.0) -> None:
    """Until the app answers a create with 201 (the baselines have no readiness route)."""
    deadline = time.monotonic() + within
    last = ""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as http:
        for _ in range(int(within / 0.2) + 10):
            if time.monotonic() > deadline:
                break
            if not child.alive:
                raise RuntimeError(f"{child.name} exited:\n{child.tail()}")
            try:
                async with http.post(
                    url, data=COMPLAINT_BODY, headers={"content-type": "application/json"}
                ) as response:
                    if response.status == 201:
                        return
                    last = f"{response.status} {await response.text()}"
            except (aiohttp.ClientError, TimeoutError) as exc:
                last = repr(exc)
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{child.name} not answering 201 within {within:.0f} s: {last}")


async def p1(ctx: Context) -> list[Figure]:
    cfg = ctx.config
    async with ctx.platform("p1") as platform:
        await platform.start_services()
        await platform.scale_workers(lambda e: 1)
        ports = {name: free_port() for name in ("a", "b", "c")}
        pool = str(cfg.p1_connections)
        children = {
            "a": platform.spawn("baseline-a", uvicorn_argv("bench.baselines.bare:app", ports["a"])),
            "b": platform.spawn(
                "baseline-b",
                uvicorn_argv("bench.baselines.db:app", ports["b"]),
                {"BENCH_DSN": platform.settings.require_database_url(), "BENCH_POOL_SIZE": pool},
            ),
            "c": platform.spawn(
                "baseline-c",
                uvicorn_argv("bench.baselines.proxy:app", ports["c"]),
                {"BENCH_UPSTREAM": f"http://127.0.0.1:{ports['b']}"},
            ),
        }
        urls = {name: f"http://127.0.0.1:{port}{CREATE_PATH}" for name, port in ports.items()}
        for name in ("a", "b", "c"):
            await wait_http(urls[name], children[name])
        urls["subject"] = platform.gateway + CREATE_PATH

        async def run(name: str, seconds: float) -> LoadResult:
            platform.check_alive()
            result = await ctx.load.run(
                urls[name], COMPLAINT_BODY, connections=cfg.p1_connections, duration=seconds
            )
            if name == "subject":
                drains.append(await wait_drained(platform, cfg.drain_timeout))
            return result

        drains: list[dict[str, Any]] = []
        order = ["a", "b", "c", "subject"]
        for name in order if cfg.p1_warmup else []:  # warm-up, not counted
            await run(name, cfg.p1_warmup)
        runs: dict[str, list[LoadResult]] = {name: [] for name in order}
        sequence: list[str] = []
        for round_ in range(cfg.p1_rounds):
            for name in order if round_ % 2 == 0 else list(reversed(order)):
                runs[name].append(await run(name, cfg.p1_duration))
                sequence.append(name)

    def med(name: str, attribute: str) -> float:
        return median([getattr(r, attribute) for r in runs[name]])

    subject, floor = med("subject", "ok_per_s"), med("c", "ok_per_s")
    ratio = subject / floor if floor else math.nan
    details: dict[str, Any] = {
        "connections": cfg.p1_connections,
        "duration_s": cfg.p1_duration,
        "rounds": cfg.p1_rounds,
        "sequence": sequence,
        "load_generator": runs["subject"][0].tool,
        "baselines": {
            "a": "bare FastAPI, one pydantic POST route (201)",
            "b": "FastAPI + one asyncpg INSERT per request",
            "c": "(b) behind a pass-through FastAPI proxy on aiohttp.ClientSession",
        },
        "medians": {
            name: {
                "creates_per_s": round(med(name, "ok_per_s"), 1),
                "p50_ms": med(name, "p50_ms"),
                "p99_ms": med(name, "p99_ms"),
            }
            for name in order
        },
        "runs": {name: [r.as_dict() for r in results] for name, results in runs.items()},
        "subject_drain_after_runs": drains,
        "subject_non_201": sum(r.other_status + r.socket_errors for r in runs["subject"]),
    }
    p99, p50 = med("subject", "p99_ms"), med("subject", "p50_ms")
    return [
        Figure(
            "P1",
            "creates/s through the gateway (32 conn.)",
            round(subject, 1),
            "/s",
            "≥ 0.50 × (c)",
            ratio >= 0.5,
            baseline=round(floor, 1),
            ratio=round(ratio, 3),
            details=details,
        ),
        Figure(
            "P1.p99",
            "create latency p99",
            p99,
            "ms",
            "≤ 100 ms",
            p99 <= 100,
            baseline=med("c", "p99_ms"),
        ),
        Figure(
            "P1.p50",
            "create latency p50",
            p50,
            "ms",
            "—",
            None,
            baseline=med("c", "p50_ms"),
        ),
    ]
