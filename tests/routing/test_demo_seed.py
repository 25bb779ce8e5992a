"""`aduan seed-demo`: a small demo set on its own real database, checked the way the statistics
will read it — where the complaints are, that every lifecycle is legal, that the clocks agree
with the events."""

import asyncio
import statistics
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from routing.demo.seed import DemoRefused
from routing.stats.refresh import WATERMARK, after_bulk_facts, refresh_complaints, refresh_step
from services.cli import _offer_demo, _seed_demo
from services.db import create_sessionmaker
from services.domain.calendar import add_working_days
from services.domain.lifecycle import Status, check_transition
from services.seed import region_rows
from tests.databases import scratch_database

N = 300


async def _fetch(url: str, sql: str) -> list[Any]:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:  # committed: a test may write
            return list((await conn.execute(text(sql))).all())
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def demo_db(database_url: str) -> Iterator[str]:
    with scratch_database(database_url, "demo_seed") as url:
        asyncio.run(_seed_demo(url, N, chunk=120, workers=2))  # the worker processes' path
        yield url


def fetch(url: str, sql: str) -> list[Any]:
    return asyncio.run(_fetch(url, sql))


def test_it_writes_the_complaints_asked_for_over_the_last_year(demo_db: str) -> None:
    [(count, oldest, newest)] = fetch(
        demo_db, "SELECT count(*), min(created_at), max(created_at) FROM complaints"
    )
    assert count == N
    assert (newest - oldest).days > 300


def test_complaints_per_province_follow_the_population(demo_db: str) -> None:
    population = {r["code"]: r["population"] for r in region_rows() if r["level"] == "provinsi"}
    counts = dict(
        fetch(
            demo_db, "SELECT split_part(region_code, '.', 1), count(*) FROM complaints GROUP BY 1"
        )
    )
    provinces = sorted(population)
    observed = [counts.get(p, 0) for p in provinces]
    expected = [population[p] for p in provinces]
    assert statistics.correlation(observed, expected) > 0.85
    # One of the three most populous provinces (Jawa Barat, Jawa Timur, Jawa Tengah) leads.
    largest = sorted(population, key=lambda p: population[p])[-3:]
    assert max(counts, key=lambda p: counts[p]) in largest


def test_every_lifecycle_is_a_chain_of_legal_transitions(demo_db: str) -> None:
    events = fetch(
        demo_db,
        "SELECT complaint_id, type, data->>'previous_status', data->>'status' FROM events "
        "ORDER BY complaint_id, occurred_at, id",
    )
    final = dict(fetch(demo_db, "SELECT id, status FROM complaints"))
    by_complaint: dict[Any, list[tuple[str, str | None, str]]] = defaultdict(list)
    for complaint_id, type_, previous, status in events:
        by_complaint[complaint_id].append((type_, previous, status))
    assert set(by_complaint) == set(final)
    for complaint_id, steps in by_complaint.items():
        assert steps[0][0] == "complaint.submitted" and steps[0][2] == Status.submitted
        status = Status.submitted.value
        for type_, previous, new in steps[1:]:
            assert previous == status, (complaint_id, type_)
            if new != previous:
                check_transition(previous, Status(new))  # raises on an illegal one
            status = new
        assert status == final[complaint_id]
    statuses = set(final.values())
    assert {"resolved", "dispositioned"} <= statuses or {"resolved", "in_progress"} <= statuses


def test_the_history_has_escalations_returns_and_fast_and_slow_agencies(demo_db: str) -> None:
    types = dict(fetch(demo_db, "SELECT type, count(*) FROM events GROUP BY 1"))
    assert types["complaint.escalated"] > 0
    assert types["complaint.returned"] > 0
    assert types["complaint.sla_breached"] > 0
    [(escalated, returned)] = fetch(
        demo_db,
        "SELECT count(*) FILTER (WHERE escalation_level > 0), "
        "count(*) FILTER (WHERE returns_count > 0) FROM complaints",
    )
    assert 0 < escalated < N and 0 < returned < N
    # Some agencies answer within a day, others let the first-response deadline pass.
    [(answered_fast, breached, clocks)] = fetch(
        demo_db,
        "SELECT count(*) FILTER (WHERE stopped_at - started_at < interval '1 day' "
        "AND breached_at IS NULL), count(*) FILTER (WHERE breached_at IS NOT NULL), count(*) "
        "FROM complaint_clocks WHERE kind = 'first_response'",
    )
    assert answered_fast > 0
    assert 0.02 * clocks < breached < 0.8 * clocks


def test_clocks_agree_with_the_events(demo_db: str) -> None:
    clocks = fetch(
        demo_db,
        "SELECT complaint_id, kind, timezone, working_days, started_at, due_at, stopped_at, "
        "breached_at, agency_id FROM complaint_clocks",
    )
    moments: dict[Any, dict[Any, str]] = defaultdict(dict)
    for complaint_id, occurred_at, type_ in fetch(
        demo_db, "SELECT complaint_id, occurred_at, type FROM events"
    ):
        moments[complaint_id][occurred_at] = type_
    escalated = {
        row[0] for row in fetch(demo_db, "SELECT id FROM complaints WHERE escalation_level > 0")
    }
    starts = {
        "verification": {"complaint.submitted"},
        "first_response": {"complaint.dispositioned"},
        "completion": {"complaint.dispositioned"},
        "reply_window": {"complaint.followed_up"},
    }
    for complaint_id, kind, tz, days, started, due, stopped, breached, _agency in clocks:
        seen = moments[complaint_id]
        assert seen.get(started) in starts[kind], (complaint_id, kind)
        if breached is None or complaint_id not in escalated:
            assert due == add_working_days(started, days, tz)
        if stopped is not None:
            # A clock stops at an event of the complaint (a follow-up, a resolution, a return).
            assert stopped in seen, (complaint_id, kind)
    running = fetch(
        demo_db,
        "SELECT count(*) FROM complaint_clocks k JOIN complaints c ON c.id = k.complaint_id "
        "WHERE k.stopped_at IS NULL AND c.status IN ('resolved', 'archived')",
    )
    assert running == [(0,)]


def test_demo_events_are_already_delivered(demo_db: str) -> None:
    assert fetch(
        demo_db, "SELECT count(*) FROM events WHERE published_at IS NULL OR settled_at IS NULL"
    ) == [(0,)]


def test_it_refuses_a_database_with_complaints_unless_asked_to_add(demo_db: str) -> None:
    with pytest.raises(DemoRefused):
        asyncio.run(_seed_demo(demo_db, 10))
    assert fetch(demo_db, "SELECT count(*) FROM complaints") == [(N,)]
    # The statistics had backfilled already: added complaints with a past must be looked for.
    fetch(
        demo_db,
        "INSERT INTO stats_watermarks (name, occurred_at) VALUES ('backfilled', now()) "
        "ON CONFLICT (name) DO NOTHING RETURNING name",
    )
    asyncio.run(_seed_demo(demo_db, 10, add=True, seed=11))
    assert fetch(demo_db, "SELECT count(*) FROM complaints") == [(N + 10,)]
    # The added complaints come with their statistics: nothing for the backfill to find.
    assert fetch(
        demo_db,
        "SELECT count(*) FROM complaints c WHERE NOT EXISTS "
        "(SELECT 1 FROM stats_complaint_facts f WHERE f.complaint_id = c.id)",
    ) == [(0,)]


def test_make_run_offers_demo_data_only_on_an_empty_database(
    demo_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = fetch(demo_db, "SELECT count(*) FROM complaints")
    asyncio.run(_offer_demo(demo_db, 25))
    assert fetch(demo_db, "SELECT count(*) FROM complaints") == before
    assert "already holds complaints" in capsys.readouterr().out


ROLLUPS = (
    "SELECT * FROM stats_weekly ORDER BY week, region_code, category_code",
    "SELECT * FROM stats_weekly_agencies ORDER BY week, agency_id, category_code",
    "SELECT * FROM stats_spans ORDER BY level, start, region_code, category_code",
    "SELECT * FROM stats_category_counts ORDER BY level, start, region_code, category_code",
    "SELECT * FROM stats_area_weekly ORDER BY week, area_code, category_code",
)


async def _statistics_then_a_refresh_from_scratch(url: str) -> tuple[Any, Any]:
    """(facts and rollups as seed-demo left them, the same after the refresh job recomputed
    every complaint from its rows), inside a transaction rolled back afterwards."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.begin()
            session = create_sessionmaker(conn)()  # type: ignore[arg-type]

            async def read() -> tuple[Any, ...]:
                facts = (
                    await session.execute(
                        text("SELECT * FROM stats_complaint_facts ORDER BY complaint_id")
                    )
                ).all()
                return (facts, *[(await session.execute(text(q))).all() for q in ROLLUPS])

            seeded = await read()
            ids = list((await session.scalars(text("SELECT id FROM complaints"))).all())
            # The seed derived each complaint's facts as of its end; the last event precedes it,
            # and every deadline before it left an event (the sweep ran up to it).
            last = await session.scalar(text("SELECT max(occurred_at) FROM events"))
            await session.execute(text("DELETE FROM stats_weekly"))
            await session.execute(text("DELETE FROM stats_weekly_agencies"))
            await session.execute(text("DELETE FROM stats_spans"))
            await session.execute(text("DELETE FROM stats_category_counts"))
            await session.execute(text("DELETE FROM stats_area_weekly"))
            await session.execute(text("DELETE FROM stats_complaint_facts"))
            await refresh_complaints(session, ids, last + timedelta(microseconds=1))
            refreshed = await read()
            await conn.rollback()
            return seeded, refreshed
    finally:
        await engine.dispose()


def test_the_statistics_are_current_when_the_seed_ends(demo_db: str) -> None:
    # What the statistics API sums: every complaint, by status, as the complaints say.
    by_status = dict(fetch(demo_db, "SELECT status, count(*) FROM complaints GROUP BY 1"))
    sums = ", ".join(f"sum(status_{s.value})" for s in Status)
    (row,) = fetch(demo_db, f"SELECT {sums} FROM stats_weekly WHERE category_code = ''")
    totals = {s.value: n for s, n in zip(Status, row, strict=True) if n}
    assert totals == by_status
    # The same facts and rollups as the refresh job computes from the rows, from scratch.
    seeded, refreshed = asyncio.run(_statistics_then_a_refresh_from_scratch(demo_db))
    assert len(seeded[0]) == sum(by_status.values())
    assert seeded == refreshed


async def _refresh_after_a_live_event(url: str) -> tuple[int, bool, Any]:
    """A reporter rates a demo complaint after the seed; then one refresh run (rolled back):
    (complaints it refreshed, whether more waits, the complaint's rating in the facts)."""
    engine = create_async_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            complaint = await session.scalar(
                text("SELECT id FROM complaints WHERE status = 'resolved' LIMIT 1")
            )
            await session.execute(
                text(
                    "INSERT INTO events (id, type, occurred_at, complaint_id, actor_kind, data) "
                    "VALUES (gen_random_uuid(), 'complaint.rated', now(), :c, 'user', "
                    "'{\"rating\": 5}')"
                ),
                {"c": complaint},
            )
            now = datetime.now(UTC) + timedelta(seconds=10)
            done, more = await refresh_step(session, now, timedelta(seconds=5), 500)
            rating = await session.scalar(
                text("SELECT rating FROM stats_complaint_facts WHERE complaint_id = :c"),
                {"c": complaint},
            )
            await session.rollback()
            return done, more, rating
    finally:
        await engine.dispose()


def test_the_refresh_job_reads_only_what_happens_after_the_seed(demo_db: str) -> None:
    [(mark,)] = fetch(
        demo_db, f"SELECT occurred_at FROM stats_watermarks WHERE name = '{WATERMARK}'"
    )
    [(behind,)] = fetch(demo_db, "SELECT count(*) FROM events WHERE occurred_at <= now()")
    assert mark is not None and behind > 500
    done, more, rating = asyncio.run(_refresh_after_a_live_event(demo_db))
    assert 1 <= done < 50 and not more  # the live event's complaint (and a few seconds of demo)
    assert rating == 5


async def _a_bulk_write_behind_a_live_complaint(url: str) -> tuple[bool, Any, Any]:
    """`--add` beside live data: the watermark lies days back, a complaint there has an event
    its facts do not reflect yet (here: none), then a bulk writer finishes (rolled back)."""
    engine = create_async_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            now = datetime.now(UTC)
            await session.execute(
                text(
                    "UPDATE stats_watermarks SET occurred_at = :t, event_id = NULL "
                    f"WHERE name = '{WATERMARK}'"
                ),
                {"t": now - timedelta(days=20)},
            )
            live = await session.scalar(
                text(
                    "SELECT complaint_id FROM events "
                    "WHERE occurred_at > now() - interval '10 days' LIMIT 1"
                )
            )
            await session.execute(
                text("DELETE FROM stats_complaint_facts WHERE complaint_id = :c"), {"c": live}
            )
            await after_bulk_facts(session, now, now + timedelta(minutes=1), timedelta(0))
            has_facts = bool(
                await session.scalar(
                    text("SELECT count(*) FROM stats_complaint_facts WHERE complaint_id = :c"),
                    {"c": live},
                )
            )
            mark = await session.scalar(
                text(f"SELECT occurred_at FROM stats_watermarks WHERE name = '{WATERMARK}'")
            )
            await session.rollback()
            return has_facts, mark, now
    finally:
        await engine.dispose()


def test_complaints_behind_the_mark_get_their_facts_when_a_bulk_write_moves_it(
    demo_db: str,
) -> None:
    has_facts, mark, now = asyncio.run(_a_bulk_write_behind_a_live_complaint(demo_db))
    assert has_facts
    assert mark == now
