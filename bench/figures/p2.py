"""P2: submit → complaint.dispositioned webhook under an open-loop load."""

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Sequence
from typing import Any

import aiohttp

from bench.figures.context import Context
from bench.figures.endpoints import register_endpoint, start_receiver
from bench.figures.probes import (
    at_least,
    depths,
    wait_drained,
    wait_for,
)
from bench.figures.workload import COMPLAINT_BODY, CREATE_PATH, file_complaints
from bench.load import Submitted, open_loop, percentile
from bench.report import Figure
from bench.stack import Platform
from services.events.catalogue import EventType

log = logging.getLogger("bench")


DISPOSITIONED = EventType.complaint_dispositioned.value


def flatness(
    samples: list[dict[str, Any]], until: float, margin: float
) -> tuple[bool, dict[str, Any]]:
    """Each series' average over the last third of [0, until] against the first third's."""
    window = [s for s in samples if 0 <= s["t"] <= until]
    third = until / 3
    report: dict[str, Any] = {}
    ok = True
    for key in ("routing_queue", "notifications_queue", "pending_deliveries", "unpublished_events"):
        first = [s[key] for s in window if s["t"] < third and s[key] is not None]
        last = [s[key] for s in window if s["t"] >= 2 * third and s[key] is not None]
        if not first or not last:
            report[key] = None
            continue
        a, b = sum(first) / len(first), sum(last) / len(last)
        allowed = max(margin, 0.2 * a)  # a healthy depth still wobbles by a fifth
        report[key] = {"first_third": round(a, 1), "last_third": round(b, 1), "margin": allowed}
        ok = ok and b <= a + allowed
    return ok, report


async def sample_depths(
    platform: Platform, samples: list[dict[str, Any]], origin: float, stop: asyncio.Event
) -> None:
    for _ in range(100_000):  # one a second; stopped by `stop`
        started = time.monotonic()
        with contextlib.suppress(Exception):
            samples.append({"t": round(started - origin, 2)} | await depths(platform))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max(0.0, 1.0 - (time.monotonic() - started)))
        if stop.is_set():
            return


async def p2(ctx: Context) -> list[Figure]:
    cfg = ctx.config
    scopes = {"regency": ["11.01"], "province": ["11"], "national": []}
    async with ctx.platform("p2") as platform:
        await platform.start_services()
        await platform.scale_workers(lambda e: 1)
        receiver = await start_receiver(platform)
        async with aiohttp.ClientSession() as http:
            for name, regions in scopes.items():
                await register_endpoint(http, platform, receiver.url(name), regions)

        async def dispositioned() -> int:
            counts: dict[str, int] = (await receiver.stats())["counts"]
            return sum(counts.get(f"{name}|{DISPOSITIONED}", 0) for name in scopes)

        # Warm-up: every process has handled a complaint end to end before the clock starts.
        warm = await file_complaints(platform, 5, concurrency=1)
        await wait_for(
            "warm-up deliveries",
            lambda: at_least(dispositioned, len(warm) * len(scopes)),
            cfg.p2_drain,
            platform=platform,
        )
        await wait_drained(platform, cfg.drain_timeout)
        await receiver.reset()
        log.info(
            "p2: endpoints registered, warmed up; %g complaints/s for %g s",
            cfg.p2_rate,
            cfg.p2_duration,
        )

        samples: list[dict[str, Any]] = []
        stop = asyncio.Event()
        origin = time.monotonic()
        sampler = asyncio.create_task(sample_depths(platform, samples, origin, stop))
        try:
            submitted = await open_loop(
                platform.gateway + CREATE_PATH,
                COMPLAINT_BODY,
                rate=cfg.p2_rate,
                duration=cfg.p2_duration,
            )
            load_seconds = time.monotonic() - origin
            answered = {
                s.body["tracking_id"]: s
                for s in submitted
                if s.status == 201 and s.body and isinstance(s.body.get("tracking_id"), str)
            }
            expected = len(answered) * len(scopes)
            drain_started = time.monotonic()
            with contextlib.suppress(TimeoutError):
                await wait_for(
                    "deliveries",
                    lambda: at_least(dispositioned, expected),
                    cfg.p2_drain,
                    interval=0.5,
                    platform=platform,
                )
            drain_seconds = time.monotonic() - drain_started
        finally:
            stop.set()
            await sampler
        records = await receiver.records()

    first: dict[tuple[str, str], float] = {}
    for name, arrived, event_type, tracking_id, _ in records:
        if event_type == DISPOSITIONED and tracking_id is not None and tracking_id in answered:
            key = (tracking_id, name)
            first[key] = min(arrived, first.get(key, math.inf))
    latencies = []
    for (tracking_id, _), arrived in first.items():
        answered_at = answered[tracking_id].answered
        if answered_at is not None:
            latencies.append((arrived - answered_at) * 1000)
    lost = expected - len(first)
    margin = max(10.0, 0.5 * cfg.p2_rate)
    flat, series = flatness(samples, cfg.p2_duration, margin)
    growth = max(
        (s["last_third"] - s["first_third"] for s in series.values() if s is not None),
        default=0.0,
    )
    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
    details: dict[str, Any] = {
        "rate_per_s": cfg.p2_rate,
        "duration_s": cfg.p2_duration,
        "load_seconds": round(load_seconds, 2),
        "submitted": len(submitted),
        "achieved_rate_per_s": round(
            (len(submitted) - 1) / (submitted[-1].sent - submitted[0].sent), 1
        )
        if len(submitted) > 1 and submitted[-1].sent > submitted[0].sent
        else None,
        "max_send_lag_ms": round(max((s.sent - s.scheduled) * 1000 for s in submitted), 1),
        "created": len(answered),
        "refused_or_failed": _failures(submitted),
        "submit_p50_ms": percentile(_submit_latencies(submitted), 50),
        "submit_p99_ms": percentile(_submit_latencies(submitted), 99),
        "endpoints": scopes,
        "expected_deliveries": expected,
        "received": len(first),
        "duplicates": sum(1 for r in records if r[2] == DISPOSITIONED) - len(first),
        "drain_seconds": round(drain_seconds, 1),
        "drain_timeout_s": cfg.p2_drain,
        "latency_ms": {
            "p50": p50,
            "p90": percentile(latencies, 90),
            "p99": p99,
            "max": max(latencies, default=math.nan),
        },
    }
    queue_details = {
        "margin": margin,
        "series": series,
        "samples": samples,
        "rule": "flat: each series' last-third average ≤ its first-third average + "
        "max(margin, 20 % of the first-third average)",
    }
    return [
        Figure(
            "P2",
            "submit → dispositioned webhook p50",
            p50,
            "ms",
            "≤ 200 ms",
            p50 <= 200,
            details=details,
        ),
        Figure(
            "P2.p99", "submit → dispositioned webhook p99", p99, "ms", "≤ 1,000 ms", p99 <= 1000
        ),
        Figure(
            "P2.lost",
            "deliveries lost",
            float(lost),
            "",
            "0",
            lost == 0,
            details={"expected": expected},
        ),
        Figure(
            "P2.queue",
            "queue depth growth (last − first third)",
            round(growth, 1),
            "",
            f"≤ +{margin:.0f} (flat)",
            flat,
            details=queue_details,
        ),
    ]


def _submit_latencies(submitted: Sequence[Submitted]) -> list[float]:
    return [(s.answered - s.sent) * 1000 for s in submitted if s.answered is not None]


def _failures(submitted: Sequence[Submitted]) -> dict[str, int]:
    failures: dict[str, int] = {}
    for s in submitted:
        if s.status != 201:
            key = str(s.status) if s.status is not None else (s.error or "error")[:80]
            failures[key] = failures.get(key, 0) + 1
    return failures
