"""The figures P1, P2, P3 and P5, each on a platform of its own (see bench.stack); in quick
mode P1, P2 and P5 share one, to spare the start-ups.

Every wait is bounded in time and every loop in count; only loopback addresses are used.
"""

import asyncio
import contextlib
import json
import logging
import math
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aiohttp
from sqlalchemy import insert, text
from uuid6 import uuid7

from bench.baselines import uvicorn_argv
from bench.load import ClosedLoop, LoadResult, Submitted, median, open_loop, percentile
from bench.receiver import ReceiverClient
from bench.report import Figure
from bench.stack import Child, Entry, Platform, Stack
from services.complaints import complaint_data
from services.embedded import free_port
from services.events.catalogue import Consumer, EventType
from services.events.outbox import Publisher
from services.models import Complaint, Event

log = logging.getLogger("bench")

COMPLAINT: dict[str, Any] = {
    "report_type": "pengaduan",
    "title": "Jalan berlubang di depan Pasar Bakongan",
    "description": "Jalan utama di depan pasar berlubang besar sejak dua bulan dan "
    "membahayakan pengendara motor.",
    "category": "infrastruktur",
    "region_code": "11.01.01",
    "occurred_on": "2026-11-20",
    "reporter": {"name": "Siti", "email": "siti@example.id", "phone": "+6281234567890"},
    "anonymous": False,
    "confidential": False,
}
COMPLAINT_BODY = json.dumps(COMPLAINT).encode()
CREATE_PATH = "/api/v1/complaints"
ENDPOINTS_PATH = "/api/v1/webhooks/endpoints"
DISPOSITIONED = EventType.complaint_dispositioned.value


@dataclass
class Config:
    quick: bool
    duration: float | None = None  # overrides the length of each load run (P1 and P2)

    @property
    def p1_duration(self) -> float:
        return self.duration or (1.0 if self.quick else 10.0)

    @property
    def p1_rounds(self) -> int:
        return 1 if self.quick else 2

    @property
    def p1_warmup(self) -> float:
        return 0.0 if self.quick else 3.0

    p1_connections: int = 32

    @property
    def p2_rate(self) -> float:
        return 10.0 if self.quick else 50.0

    @property
    def p2_duration(self) -> float:
        return self.duration or (3.0 if self.quick else 60.0)

    @property
    def p2_drain(self) -> float:
        return 20.0 if self.quick else 60.0

    @property
    def p3_events(self) -> int:
        return 1_000 if self.quick else 20_000

    @property
    def p3_rounds(self) -> int:
        return 1 if self.quick else 2

    @property
    def p5_deliveries(self) -> int:
        return 300 if self.quick else 20_000

    p5_endpoints: int = 20

    @property
    def p5_timeout(self) -> float:
        return 20.0 if self.quick else 300.0

    @property
    def drain_timeout(self) -> float:
        return 60.0 if self.quick else 180.0


@dataclass
class Context:
    stack: Stack
    config: Config
    load: ClosedLoop
    exits: contextlib.AsyncExitStack
    shared: Platform | None = None

    @contextlib.asynccontextmanager
    async def platform(self, tag: str) -> AsyncIterator[Platform]:
        """A fresh platform for the figure; in quick mode one platform shared by the figures
        that run the services, each figure leaving it as it found it (no receiver, baseline or
        active endpoint), to save the start-up of a platform per figure."""
        if not self.config.quick:
            async with self.stack.platform(tag) as platform:
                yield platform
            return
        if self.shared is None:
            self.shared = await self.exits.enter_async_context(self.stack.platform("shared"))
        platform = self.shared
        try:
            yield platform
        finally:
            platform.stop_extras()
            if platform.endpoints and platform.services_running():
                async with aiohttp.ClientSession() as http:
                    for endpoint_id in list(platform.endpoints):
                        await deactivate_endpoint(http, platform, endpoint_id)


# ---------------------------------------------------------------------------------------------
# Shared helpers


def admin_headers(stack: Stack) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.admin_key}"}


async def register_endpoint(
    http: aiohttp.ClientSession, platform: Platform, url: str, region_codes: list[str]
) -> str:
    async with http.post(
        platform.gateway + ENDPOINTS_PATH,
        json={"url": url, "region_codes": region_codes},
        headers=admin_headers(platform.stack),
    ) as response:
        body = await response.text()
        if response.status != 201:
            raise RuntimeError(f"registering {url}: {response.status} {body}")
        endpoint_id: str = json.loads(body)["id"]
        platform.endpoints.append(endpoint_id)
        return endpoint_id


async def deactivate_endpoint(
    http: aiohttp.ClientSession, platform: Platform, endpoint_id: str
) -> None:
    async with http.delete(
        f"{platform.gateway}{ENDPOINTS_PATH}/{endpoint_id}", headers=admin_headers(platform.stack)
    ) as response:
        if response.status >= 300:
            log.warning("deactivating %s: %s", endpoint_id, await response.text())
    if endpoint_id in platform.endpoints:
        platform.endpoints.remove(endpoint_id)


async def file_complaints(platform: Platform, count: int, concurrency: int = 16) -> list[str]:
    """File `count` complaints through the gateway; their tracking ids."""
    tracking_ids: list[str] = []
    failures: list[str] = []
    queue = iter(range(count))
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http:

        async def client() -> None:
            for _ in queue:
                async with http.post(
                    platform.gateway + CREATE_PATH,
                    data=COMPLAINT_BODY,
                    headers={"content-type": "application/json"},
                ) as response:
                    body = await response.text()
                    if response.status == 201:
                        tracking_ids.append(json.loads(body)["tracking_id"])
                    else:
                        failures.append(f"{response.status} {body[:200]}")

        await asyncio.gather(*(client() for _ in range(concurrency)))
    if failures:
        raise RuntimeError(f"{len(failures)} of {count} complaints refused: {failures[0]}")
    return tracking_ids


async def inbox_count(platform: Platform, consumer: str) -> int:
    count = await platform.scalar(
        "SELECT count(*) FROM processed_events WHERE consumer = :consumer", consumer=consumer
    )
    return int(count or 0)


async def optional_count(platform: Platform, sql: str) -> int | None:
    """A count that may not exist in every version of the schema (None then)."""
    try:
        value = await platform.scalar(sql)
    except Exception as exc:
        log.debug("%s: %r", sql, exc)
        return None
    return int(value or 0)


async def depths(platform: Platform) -> dict[str, int | None]:
    """What is waiting: the arq queues (queued, running and deferred jobs), the pending webhook
    deliveries and the events the outbox has not published yet."""
    routing = await platform.redis.zcard(platform.queue(Consumer.routing))
    notifications = await platform.redis.zcard(platform.queue(Consumer.notifications))
    return {
        "routing_queue": int(routing),
        "notifications_queue": int(notifications),
        "pending_deliveries": await optional_count(
            platform, "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'"
        ),
        "unpublished_events": await optional_count(
            platform, "SELECT count(*) FROM events WHERE published_at IS NULL"
        ),
    }


async def due_jobs(platform: Platform) -> int:
    """Jobs due now on both queues (deferred retries are not)."""
    now_ms = int(time.time() * 1000)
    total = 0
    for consumer in (Consumer.routing, Consumer.notifications):
        total += int(await platform.redis.zcount(platform.queue(consumer), "-inf", now_ms))
    return total


async def wait_drained(platform: Platform, within: float) -> dict[str, Any]:
    """Wait until no job is due (beyond a cron or two) and every event is published."""
    started = time.monotonic()
    calm = 0
    for _ in range(int(within / 0.5) + 1):
        platform.check_alive()
        due = await due_jobs(platform)
        unpublished = await optional_count(
            platform, "SELECT count(*) FROM events WHERE published_at IS NULL"
        )
        calm = calm + 1 if due <= 2 and not unpublished else 0
        if calm >= 2:
            return {"drained": True, "seconds": round(time.monotonic() - started, 1)}
        if time.monotonic() - started > within:
            break
        await asyncio.sleep(0.5)
    return {"drained": False, "seconds": round(time.monotonic() - started, 1)}


async def wait_for(
    what: str,
    check: Callable[[], Awaitable[bool]],
    within: float,
    interval: float = 0.2,
    platform: Platform | None = None,
) -> float:
    """Poll `check` until true; the seconds it took. Raises TimeoutError after `within`."""
    started = time.monotonic()
    for _ in range(int(within / interval) + 2):
        if platform is not None:
            platform.check_alive()
        if await check():
            return time.monotonic() - started
        if time.monotonic() - started > within:
            break
        await asyncio.sleep(interval)
    raise TimeoutError(f"{what}: not within {within:.0f} s")


async def start_receiver(platform: Platform, slow_seconds: float = 10.0) -> ReceiverClient:
    port = free_port()
    platform.spawn(
        "receiver",
        [
            sys.executable,
            "-m",
            "bench.receiver",
            "--port",
            str(port),
            "--slow-seconds",
            str(slow_seconds),
        ],
    )
    receiver = ReceiverClient(port)
    await receiver.wait_ready()
    return receiver


def only(consumer: str, instances: int) -> Callable[[Entry], int]:
    """Worker counts: `instances` of the consumer's worker, none of the others."""
    return lambda entry: instances if entry.consumer == consumer else 0


def beside_notifications(instances: int) -> Callable[[Entry], int]:
    """Worker counts: `instances` notifications workers, one of every other worker."""
    return lambda entry: instances if entry.consumer == Consumer.notifications else 1


# ---------------------------------------------------------------------------------------------
# P1: creates/s through the gateway against three baselines


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


# ---------------------------------------------------------------------------------------------
# P2: submit → complaint.dispositioned webhook under an open-loop load


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
            lambda: _at_least(dispositioned, len(warm) * len(scopes)),
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
                    lambda: _at_least(dispositioned, expected),
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


async def _at_least(count: Callable[[], Awaitable[int]], expected: int) -> bool:
    return await count() >= expected


def _submit_latencies(submitted: Sequence[Submitted]) -> list[float]:
    return [(s.answered - s.sent) * 1000 for s in submitted if s.answered is not None]


def _failures(submitted: Sequence[Submitted]) -> dict[str, int]:
    failures: dict[str, int] = {}
    for s in submitted:
        if s.status != 201:
            key = str(s.status) if s.status is not None else (s.error or "error")[:80]
            failures[key] = failures.get(key, 0) + 1
    return failures


# ---------------------------------------------------------------------------------------------
# P3: routing decisions/s in one routing worker against arq no-op jobs/s


async def prefill_submitted(platform: Platform, count: int, round_: int) -> list[Event]:
    """`count` complaints in `submitted` with their complaint.submitted events, in bulk."""
    now = datetime.now(UTC)
    complaints: list[dict[str, Any]] = []
    events: list[Event] = []
    for i in range(count):
        row = {
            "id": uuid.UUID(str(uuid7())),
            "tracking_id": f"ADN-B{round_}{i:07d}",
            "report_type": COMPLAINT["report_type"],
            "title": COMPLAINT["title"],
            "description": COMPLAINT["description"],
            "category_code": COMPLAINT["category"],
            "region_code": COMPLAINT["region_code"],
            "reporter_name": "Siti",
            "anonymous": False,
            "confidential": False,
            "submitted_by": "anonymous:-",
            "status": "submitted",
            "escalation_level": 0,
            "version": 1,
        }
        complaints.append(row)
        events.append(
            Event(
                id=uuid.UUID(str(uuid7())),
                type=EventType.complaint_submitted.value,
                occurred_at=now,
                complaint_id=row["id"],
                actor_kind="anonymous",
                actor_id=None,
                data=complaint_data(Complaint(**row, assignments=[])),
                trace_id=None,
            )
        )
    event_rows = [
        {
            "id": e.id,
            "type": e.type,
            "occurred_at": e.occurred_at,
            "complaint_id": e.complaint_id,
            "actor_kind": e.actor_kind,
            "actor_id": e.actor_id,
            "data": e.data,
            "trace_id": e.trace_id,
        }
        for e in events
    ]
    async with platform.sessionmaker() as session:
        for start in range(0, count, 2000):
            await session.execute(insert(Complaint), complaints[start : start + 2000])
            await session.execute(insert(Event), event_rows[start : start + 2000])
        await session.commit()
    return events


async def publish(platform: Platform, events: list[Event]) -> None:
    """Enqueue the events exactly as the outbox does: through the project's Publisher."""
    publisher = Publisher(platform.settings, platform.redis, platform.sessionmaker)
    limit = asyncio.Semaphore(4)

    async def chunk(part: list[Event]) -> None:
        async with limit:
            await publisher.publish(part)

    await asyncio.gather(*(chunk(events[i : i + 500]) for i in range(0, len(events), 500)))
    closing = getattr(publisher, "close", None)  # a publisher that marks events later
    if closing is not None:
        await closing()
    async with platform.engine.begin() as conn:
        # Marked, so the relay finds nothing to redo; the notifications consumer is not part of
        # this figure: its inbox gets the events, so the reconciler has nothing to chase either.
        await conn.execute(
            text("UPDATE events SET published_at = now() WHERE published_at IS NULL")
        )
        await conn.execute(
            text(
                "INSERT INTO processed_events (consumer, event_id) "
                "SELECT 'notifications', id FROM events ON CONFLICT DO NOTHING"
            )
        )


@dataclass
class Drain:
    """How fast one worker process emptied a pre-filled queue."""

    jobs: int
    seconds: float  # from the first completed job to the last
    startup_seconds: float  # from the process start to the first completed job

    @property
    def per_s(self) -> float:
        return self.jobs / self.seconds if self.seconds > 0 else math.nan

    def as_dict(self) -> dict[str, Any]:
        return {
            "jobs": self.jobs,
            "seconds": round(self.seconds, 3),
            "startup_seconds": round(self.startup_seconds, 2),
            "per_s": round(self.per_s, 1),
        }


async def time_drain(
    done: Callable[[], Awaitable[int]],
    total: int,
    within: float,
    platform: Platform,
    interval: float = 0.05,
) -> Drain:
    """Poll `done()` (jobs completed so far) from a worker's start until it reaches `total`."""
    spawned = time.monotonic()
    first_at: float | None = None
    first_done = 0
    for _ in range(int(within / interval) + 2):
        platform.check_alive()
        now = time.monotonic()
        completed = await done()
        if first_at is None and completed > 0:
            first_at, first_done = now, completed
        if completed >= total:
            assert first_at is not None
            if first_at == now:
                # All done by the first poll (a few batch jobs): time them from the spawn,
                # start-up included, a conservative figure.
                return Drain(total, now - spawned, 0.0)
            # The jobs done by the first poll ran before the clock started.
            return Drain(total - first_done, now - first_at, first_at - spawned)
        if now - spawned > within:
            break
        await asyncio.sleep(interval)
    raise TimeoutError(f"{total} jobs not done within {within:.0f} s")


async def routing_round(ctx: Context, platform: Platform, round_: int) -> tuple[Drain, float]:
    count = ctx.config.p3_events
    queue = platform.queue(Consumer.routing)
    base = await inbox_count(platform, Consumer.routing)
    started = time.monotonic()
    events = await prefill_submitted(platform, count, round_)
    await publish(platform, events)
    prefill_seconds = time.monotonic() - started
    # A job may carry a batch of events (the Publisher coalesces): count events, not jobs.
    queued = sum(
        len(job.args[0]) if isinstance(job.args[0], list) else 1
        for job in await platform.redis.queued_jobs(queue_name=queue)
    )
    if queued < count:
        raise RuntimeError(f"the Publisher queued {queued} of {count} events on {queue}")
    # Started without waiting for it to be up: the clock starts at its first decision.
    await platform.scale_workers(only(Consumer.routing, 1), wait=False)

    async def done() -> int:
        return await inbox_count(platform, Consumer.routing) - base

    try:
        drain = await time_drain(done, count, 120 + count / 20, platform, interval=0.1)
    finally:
        await platform.scale_workers(lambda e: 0)
    # Routing's own events went to the notifications queue, which no process here consumes.
    await ctx.stack.purge_prefix_pattern(f"*{platform.prefix}:{Consumer.notifications}*")
    return drain, prefill_seconds


async def noop_round(ctx: Context, platform: Platform, round_: int) -> tuple[Drain, dict[str, Any]]:
    count = ctx.config.p3_events
    queue = platform.queue("noop")
    limit = asyncio.Semaphore(32)

    async def enqueue(i: int) -> None:
        async with limit:
            await platform.redis.enqueue_job(
                "noop", _job_id=f"{platform.prefix}:noop:{round_}:{i}", _queue_name=queue
            )

    await asyncio.gather(*(enqueue(i) for i in range(count)))
    queued = int(await platform.redis.zcard(queue))
    if queued != count:
        raise RuntimeError(f"{queued} of {count} no-op jobs queued")
    child = platform.spawn(
        "noop-worker",
        [sys.executable, "-m", "bench.baselines.noop_worker"],
        {"BENCH_NOOP_QUEUE": queue},
    )

    async def done() -> int:
        return count - int(await platform.redis.zcard(queue))

    try:
        drain = await time_drain(done, count, 60 + count / 50, platform)
    finally:
        platform.stop_child(child)
    settings: dict[str, Any] = {}
    for line in child.tail(20_000).splitlines():
        if line.startswith("BENCH-WORKER-SETTINGS "):
            settings = json.loads(line.split(" ", 1)[1])
    await ctx.stack.purge_prefix_pattern(f"*{platform.prefix}:noop*")
    return drain, settings


async def p3(ctx: Context) -> list[Figure]:
    cfg = ctx.config
    # The reconciler would chase the notifications consumer, which this figure leaves out.
    quiet = {"ADUAN_RECONCILE_AFTER_SECONDS": "86400"}
    subject: list[Drain] = []
    baseline: list[Drain] = []
    prefill: list[float] = []
    settings: dict[str, Any] = {}
    async with ctx.stack.platform("p3", extra_env=quiet) as platform:
        for round_ in range(cfg.p3_rounds):
            drain, settings = await noop_round(ctx, platform, round_)
            baseline.append(drain)
            drain, seconds = await routing_round(ctx, platform, round_)
            subject.append(drain)
            prefill.append(round(seconds, 1))
    value = median([d.per_s for d in subject])
    floor = median([d.per_s for d in baseline])
    ratio = value / floor if floor else math.nan
    return [
        Figure(
            "P3",
            "routing decisions/s, one routing worker",
            round(value, 1),
            "/s",
            "≥ 0.40 × no-op",
            ratio >= 0.40,
            baseline=round(floor, 1),
            ratio=round(ratio, 3),
            details={
                "events": cfg.p3_events,
                "rounds": cfg.p3_rounds,
                "order": "no-op, routing; alternated per round",
                "baseline": "arq no-op jobs/s, one worker, the project's worker settings",
                "worker_settings": settings,
                "subject_runs": [d.as_dict() for d in subject],
                "baseline_runs": [d.as_dict() for d in baseline],
                "prefill_seconds": prefill,
                "env": quiet,
            },
        )
    ]


# ---------------------------------------------------------------------------------------------
# P5: signed deliveries/s with two notifications workers, and a slow endpoint's effect


@dataclass
class Batch:
    requests: int  # at the fast endpoints
    unique: int
    expected: int
    rate_per_s: float  # requests / (last arrival - first arrival)
    p50_ms: float
    p99_ms: float
    censored: bool  # p99 not reached within the timeout
    seconds: float  # batch start to the last fast arrival (or to the timeout)
    startup_seconds: float  # workers started to the batch start
    details: dict[str, Any]


async def delivery_batch(
    platform: Platform,
    receiver: ReceiverClient,
    complaints: int,
    fast: list[str],
    within: float,
    workers: int = 2,
) -> Batch:
    """File complaints with the notifications workers stopped, then start them and time the
    deliveries arriving at the fast endpoints."""
    await platform.scale_workers(beside_notifications(0))
    routed = await inbox_count(platform, Consumer.routing)
    await file_complaints(platform, complaints)
    await wait_for(
        "routing",
        lambda: _inbox_at_least(platform, Consumer.routing, routed + complaints),
        120,
        platform=platform,
    )

    async def published() -> bool:
        unpublished = await optional_count(
            platform, "SELECT count(*) FROM events WHERE published_at IS NULL"
        )
        return not unpublished

    await wait_for("publishing", published, 60, platform=platform)
    queued = int(await platform.redis.zcard(platform.queue(Consumer.notifications)))
    expected = complaints * 3 * len(fast)
    log.info(
        "%s: %d complaints routed, %d deliveries to make: starting %d notifications workers",
        platform.tag,
        complaints,
        expected,
        workers,
    )
    await receiver.reset()
    fanned_out = await inbox_count(platform, Consumer.notifications)
    started = time.monotonic()
    await platform.scale_workers(beside_notifications(workers), wait=False)
    # The batch starts with the workers' first action: the first event fanned out (it enters
    # the notifications inbox) or the first delivery received, whichever comes first.
    fan_out_seen: list[float] = []

    async def fast_requests() -> int:
        if not fan_out_seen and await inbox_count(platform, Consumer.notifications) > fanned_out:
            fan_out_seen.append(time.monotonic())
        counts: dict[str, int] = (await receiver.stats())["counts"]
        return sum(n for key, n in counts.items() if key.split("|")[0] in fast)

    complete = True
    try:
        await wait_for(
            "deliveries", lambda: _at_least(fast_requests, expected), within, 0.25, platform
        )
    except TimeoutError:
        complete = False
    ended = time.monotonic()
    log.info(
        "%s: deliveries %s after %.1f s",
        platform.tag,
        "done" if complete else "cut",
        ended - started,
    )
    records = await receiver.records()
    await platform.scale_workers(beside_notifications(0))

    fast_set = set(fast)
    arrivals = [r[1] for r in records if r[0] in fast_set]
    first_arrival = min((r[1] for r in records), default=ended)
    begin = min([first_arrival, *fan_out_seen])
    first: dict[tuple[str, str | None], float] = {}
    for name, arrived, _, _, webhook_id in records:
        if name in fast_set:
            key = (name, webhook_id)
            first[key] = min(arrived, first.get(key, math.inf))
    missing = max(0, expected - len(first))
    latencies = [(t - begin) * 1000 for t in first.values()] + [math.inf] * missing
    p99 = percentile(latencies, 99)
    censored = math.isinf(p99)
    last = max(arrivals, default=begin)
    span = last - begin if complete else ended - begin
    statuses: dict[str, int] = {}
    with contextlib.suppress(Exception):
        async with platform.engine.connect() as conn:
            rows = await conn.execute(
                text("SELECT status, count(*) FROM webhook_deliveries GROUP BY status")
            )
            statuses = {str(status): int(n) for status, n in rows}
    return Batch(
        requests=len(arrivals),
        unique=len(first),
        expected=expected,
        rate_per_s=len(arrivals) / (last - begin) if last > begin else math.nan,
        p50_ms=percentile(latencies, 50),
        p99_ms=(ended - begin) * 1000 if censored else p99,
        censored=censored,
        seconds=span,
        startup_seconds=begin - started,
        details={
            "complaints": complaints,
            "endpoints": len(fast),
            "events_queued_for_notifications": queued,
            "requests_at_fast_endpoints": len(arrivals),
            "unique_fast_deliveries": len(first),
            "expected_fast_deliveries": expected,
            "complete": complete,
            "timeout_s": within,
            "seconds_batch_start_to_last": round(span, 2),
            "workers_start_to_batch_start_s": round(begin - started, 2),
            "first_fan_out_to_first_arrival_s": round(first_arrival - begin, 2),
            "receiver_only_rate_per_s": round(len(arrivals) / (last - first_arrival), 1)
            if last > first_arrival
            else None,
            "requests_at_slow_endpoints": sum(1 for r in records if r[0] not in fast_set),
            "delivery_statuses_in_database": statuses,
        },
    )


async def _inbox_at_least(platform: Platform, consumer: str, expected: int) -> bool:
    return await inbox_count(platform, consumer) >= expected


async def p5(ctx: Context) -> list[Figure]:
    cfg = ctx.config
    fast = [f"fast-{i:02d}" for i in range(cfg.p5_endpoints)]
    complaints = max(1, math.ceil(cfg.p5_deliveries / (3 * cfg.p5_endpoints)))
    async with ctx.platform("p5") as platform:
        await platform.start_services()
        await platform.scale_workers(beside_notifications(0))
        receiver = await start_receiver(platform, slow_seconds=10.0)
        async with aiohttp.ClientSession() as http:
            for name in fast:
                await register_endpoint(http, platform, receiver.url(name), [])
            alone = await delivery_batch(platform, receiver, complaints, fast, cfg.p5_timeout)
            if alone.unique == 0:
                raise RuntimeError(
                    f"no delivery arrived within {cfg.p5_timeout:.0f} s: {alone.details}"
                )
            slow_id = await register_endpoint(http, platform, receiver.url("slow-00"), [])
            # Enough to tell a ratio of 1.2 from a failure, bounded.
            cap = min(cfg.p5_timeout, max(20.0 if cfg.quick else 30.0, 2 * alone.seconds))
            beside = await delivery_batch(platform, receiver, complaints, fast, cap)
            await deactivate_endpoint(http, platform, slow_id)

    ratio = beside.p99_ms / alone.p99_ms if alone.p99_ms else math.nan
    definition = (
        "the batch starts with the workers' first action (first event fanned out or first "
        "delivery received); rate = requests at the receiver / (last arrival - batch start); "
        "latency of a delivery = its arrival minus the batch start (all of the pre-filled "
        "batch is due from the start)"
    )
    return [
        Figure(
            "P5",
            "signed deliveries/s, 2 notifications workers",
            round(alone.rate_per_s, 1),
            "/s",
            "≥ 1,000/s",
            alone.rate_per_s >= 1000,
            details=alone.details
            | {"p50_ms": alone.p50_ms, "p99_ms": alone.p99_ms, "latency": definition},
        ),
        Figure(
            "P5.slow",
            "fast endpoints' p99 beside a 10 s endpoint",
            round(beside.p99_ms, 1),
            "ms",
            "ratio ≤ 1.20",
            (not beside.censored) and ratio <= 1.2,
            baseline=round(alone.p99_ms, 1),
            ratio=round(ratio, 3),
            details=beside.details
            | {
                "censored": beside.censored,
                "rate_per_s": round(beside.rate_per_s, 1),
                "p50_ms": beside.p50_ms,
                "baseline": "P5's own p99, without the slow endpoint",
                "latency": definition,
                "slow_endpoint": "answers 200 after sleeping 10 s",
            },
        ),
    ]


FIGURES: dict[str, Callable[[Context], Awaitable[list[Figure]]]] = {
    "P1": p1,
    "P2": p2,
    "P3": p3,
    "P5": p5,
}
