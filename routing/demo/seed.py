"""`aduan seed-demo --complaints N`: a year of realistic complaints, written in bulk.

- Where: kabupaten/kota drawn in proportion to their population (`services/data/penduduk.csv`),
  the complaint placed at the kabupaten/kota or one of its kecamatan.
- What: report type, category, channel (the app, the web form anonymously, a regional system),
  an Indonesian title and description from per-category templates (routing/demo/texts.py).
- When: over the year before now, more on working days, growing towards the present.
- Who handles it: the real disposition engine's decision (and its next candidates for returns).
- How it goes: routing/demo/simulate.py lives each complaint through the state machine, routing's
  clocks and the sweep. Each agency gets a quality (per province, with noise per agency): good
  ones answer in a day or two, poor ones breach, escalate, return complaints and let some stall.

Every event is written as already published and settled: a year of history is not replayed to
the workers and webhook receivers. Chunks of `chunk` complaints are written with COPY, one
transaction per chunk (the caller commits: `aduan seed-demo` in services/cli.py).

The statistics are written along: each life's facts come from the statistics' own `derive`
(routing/stats/facts.py) in the worker that lived it, COPYed with the chunk; `finish` then
rebuilds the weekly rollups of the cells the chunks touched and moves the refresh job's
watermark past the demo history (routing/stats/refresh.py `after_bulk_facts`), so the
statistics are current as soon as the seed is done and the job does not read a year of
events again."""

import asyncio
import random
import uuid
from collections.abc import Iterable
from concurrent.futures import Executor
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from itertools import accumulate
from operator import attrgetter, itemgetter
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncSession

from routing.demo.repository import AgencyFact, DemoRepository
from routing.demo.simulate import (
    Choice,
    DemoAgency,
    DemoEvent,
    Life,
    Written,
    plain,
    region_of,
    uuid7_at,
)
from routing.demo.texts import complaint_text
from routing.disposition.engine import DispositionEngine, NoAgency
from routing.stats.facts import AssignmentIn, ClockIn, ComplaintIn, EventIn, Facts, derive
from routing.stats.refresh import after_bulk_facts
from routing.stats.repository import BulkStatsRepository, StatsRepository
from services.domain import tracking
from services.domain.calendar import is_working_day
from services.domain.channels import Channel
from services.domain.lifecycle import Status
from services.domain.regions import province_code, regency_code
from services.models import Complaint, ComplaintAgency, Event
from services.models.routing import ComplaintClock, ComplaintFollowUp
from services.seed import region_rows
from services.settings import Settings

REPORT_TYPES = (("pengaduan", 0.78), ("aspirasi", 0.14), ("permintaan_informasi", 0.08))
# Who files (the role in submitted_by) and through which channel.
FILERS = (("citizen", 0.6), ("anonymous", 0.22), ("regional_system", 0.18))
CITIZEN_CHANNELS = ((Channel.mobile, 0.7), (Channel.web, 0.3))
ANONYMOUS_CHANNELS = ((Channel.web, 0.6), (Channel.sms, 0.25), (Channel.mobile, 0.15))
CATEGORY_WEIGHTS = {
    "infrastruktur": 24,
    "administrasi_kependudukan": 16,
    "kesehatan": 11,
    "pendidikan": 10,
    "bantuan_sosial": 13,
    "lingkungan_hidup": 8,
    "ketertiban_umum": 7,
    "korupsi_pungli": 4,
    "lainnya": 7,
}
YEAR = timedelta(days=365)


class DemoRefused(Exception):
    """The database already holds complaints and adding was not asked for."""


@dataclass
class World:
    """What every chunk needs, loaded once."""

    horizon: datetime
    settings: Settings
    rng: random.Random
    agencies: dict[uuid.UUID, DemoAgency]
    regencies: list[str]
    regency_weights: list[float]  # cumulative, by population
    districts: dict[str, list[str]]
    categories: list[str]
    category_weights: list[float]
    manual: set[str]
    tracking_ids: set[str]
    # Every agency's parent (the statistics roll offices up into them).
    parents: dict[uuid.UUID, uuid.UUID | None] = field(default_factory=dict)
    decisions: dict[tuple[str, str, str, frozenset[uuid.UUID]], Choice | None] = field(
        default_factory=dict
    )
    written: int = 0
    existing: int = 0  # complaints in the database before the seed
    # The rollup cells the written facts fall in: rebuilt by `finish`.
    cells: set[tuple[date, str]] = field(default_factory=set)
    agency_cells: set[tuple[date, uuid.UUID]] = field(default_factory=set)


@dataclass
class DemoReport:
    complaints: int = 0
    events: int = 0
    clocks: int = 0
    assignments: int = 0
    by_status: dict[str, int] = field(default_factory=dict)


def _quality(agency: AgencyFact, rng: random.Random) -> float:
    """Provinces differ (so that the ranking has something to rank), agencies within them too."""
    if agency.region_code is None:
        return 0.9  # the ministries
    base = random.Random(f"province-{province_code(agency.region_code)}").betavariate(3, 1.8)
    return max(0.02, min(0.99, base + rng.gauss(0, 0.12)))


async def prepare(session: AsyncSession, settings: Settings, *, seed: int, add: bool) -> World:
    """Load the world; refuse (DemoRefused) a database with complaints unless `add`."""
    repo = DemoRepository(session)
    existing = await repo.complaint_count()
    if existing and not add:
        raise DemoRefused(
            f"the database already holds {existing} complaints: "
            "pass --add to add demo complaints beside them"
        )
    rng = random.Random(seed)
    facts = await repo.agencies()
    agencies = {
        a.id: DemoAgency(a.id, a.code, a.name, a.timezone, a.parent_id, _quality(a, rng))
        for a in sorted(facts, key=lambda a: a.code)
    }
    regions = region_rows()
    regencies = [r for r in regions if r["level"] == "kabupaten_kota" and r["population"]]
    districts: dict[str, list[str]] = {}
    for r in regions:
        if r["level"] == "kecamatan":
            districts.setdefault(r["parent_code"], []).append(r["code"])
    active = set(await repo.active_categories())
    categories = [c for c in CATEGORY_WEIGHTS if c in active] or sorted(active)
    return World(
        horizon=datetime.now(UTC),
        settings=settings,
        rng=rng,
        agencies=agencies,
        regencies=[r["code"] for r in regencies],
        regency_weights=list(accumulate(float(r["population"]) for r in regencies)),
        districts=districts,
        categories=categories,
        category_weights=list(accumulate(float(CATEGORY_WEIGHTS.get(c, 5)) for c in categories)),
        manual=await repo.manual_categories(),
        tracking_ids=await repo.tracking_ids() if existing else set(),
        parents=await StatsRepository(session).agency_parents(),
        existing=existing,
    )


def _pick(options: Iterable[tuple[str, float]], rng: random.Random) -> str:
    names, weights = zip(*options, strict=True)
    return str(rng.choices(names, weights=weights)[0])


def _tracking_id(world: World) -> str:
    while True:
        # The platform's own ids (check character included), so a demo id typed into the
        # API is found.
        value = tracking.with_check("".join(world.rng.choices(tracking.ALPHABET, k=8)))
        if value not in world.tracking_ids:
            world.tracking_ids.add(value)
            return value


def _submitted_at(world: World) -> datetime:
    """More recent complaints are more frequent (the platform grows); fewer on days off."""
    rng = world.rng
    while True:
        moment = world.horizon - YEAR * float(rng.random() ** 1.3)
        if is_working_day(moment.date()) or rng.random() < 0.45:
            return moment


def new_complaint(world: World) -> Complaint:
    rng = world.rng
    regency = rng.choices(world.regencies, cum_weights=world.regency_weights)[0]
    districts = world.districts.get(regency)
    region = rng.choice(districts) if districts and rng.random() < 0.6 else regency
    category = rng.choices(world.categories, cum_weights=world.category_weights)[0]
    report_type = _pick(REPORT_TYPES, rng)
    filer = _pick(FILERS, rng)
    account = uuid.UUID(int=rng.getrandbits(128), version=4)
    submitted_by = {
        "citizen": f"citizen:{account}",
        "anonymous": f"anonymous:{account.hex[:16]}",
        "regional_system": f"regional_system:demo-{province_code(region)}",
    }[filer]
    # Citizens file from the app or the web form, anonymous reporters also by SMS.
    channel = (
        Channel.regional_system
        if filer == "regional_system"
        else _pick(CITIZEN_CHANNELS if filer == "citizen" else ANONYMOUS_CHANNELS, rng)
    )
    title, description = complaint_text(category, rng)
    at = _submitted_at(world)
    anonymous = filer == "anonymous"
    # A plain record with every column (routing/demo/simulate.py `plain`), not an ORM object.
    return plain(
        Complaint,
        id=uuid7_at(at, rng),
        tracking_id=_tracking_id(world),
        report_type=report_type,
        title=title,
        description=description,
        category_code=category,
        region_code=region,
        occurred_on=(at - timedelta(days=rng.randint(0, 14))).date(),
        address=None,
        latitude=None,
        longitude=None,
        reporter_name=None if anonymous else "Warga Demo",
        reporter_email=None,
        reporter_phone=None,
        reporter_account_id=account if filer == "citizen" else None,
        reporter_token_hash=None,
        anonymous=anonymous,
        confidential=category == "korupsi_pungli" and rng.random() < 0.5,
        submitted_by=submitted_by,
        channel=str(channel),
        external_ref=None,
        external_tracking_ref=None,
        status=Status.submitted.value,
        escalation_level=0,
        target_agency_id=None,
        returns_count=0,
        held_from_status=None,
        resume_on=None,
        created_at=at,
        updated_at=at,
        version=1,
    )


async def _decide(
    engine: DispositionEngine,
    world: World,
    report_type: str,
    category: str,
    region: str,
    refused: frozenset[uuid.UUID],
) -> Choice | None:
    key = (report_type, category, region, refused)
    if key not in world.decisions:
        try:
            decision = await engine.decide(
                report_type=report_type,
                category_code=category,
                region_code=region,
                exclude_agency_ids=refused,
            )
        except NoAgency:
            world.decisions[key] = None
        else:
            agency = world.agencies.get(decision.agency.id)
            world.decisions[key] = (
                None
                if agency is None
                else Choice(agency, decision.reason, decision.candidates[0].as_data())
            )
    return world.decisions[key]


async def _prefetch(engine: DispositionEngine, world: World, complaint: Complaint) -> str:
    """The engine's first three candidates for the complaint's kabupaten/kota (a first
    disposition and up to two returns); the simulation then decides from this cache."""
    code = region_of(complaint)
    region = regency_code(code) or code
    refused: frozenset[uuid.UUID] = frozenset()
    for _ in range(3):
        choice = await _decide(
            engine, world, complaint.report_type, complaint.category_code, region, refused
        )
        if choice is None:
            break
        refused = refused | {choice.agency.id}
    return region


# Generated columns (the search document) are PostgreSQL's to fill.
COMPLAINT_COLUMNS = [c.key for c in Complaint.__table__.columns if c.computed is None]
ASSIGNMENT_COLUMNS = [c.key for c in ComplaintAgency.__table__.columns]
CLOCK_COLUMNS = [c.key for c in ComplaintClock.__table__.columns]
EVENT_COLUMNS = [c.key for c in Event.__table__.columns]
FOLLOW_UP_COLUMNS = [c.key for c in ComplaintFollowUp.__table__.columns]
# stats_complaint_facts' columns are the Facts' fields (StatsRepository.save_facts).
FACT_COLUMNS = [f.name for f in fields(Facts)]
_complaint_row = attrgetter(*COMPLAINT_COLUMNS)
_assignment_row = attrgetter(*ASSIGNMENT_COLUMNS)
_clock_row = attrgetter(*CLOCK_COLUMNS)
_event_values = attrgetter(*EVENT_COLUMNS)
_fact_row = attrgetter(*FACT_COLUMNS)
_follow_up_row = itemgetter(*FOLLOW_UP_COLUMNS)
_DATA = EVENT_COLUMNS.index("data")
_PRIVATE = EVENT_COLUMNS.index("private_data")


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _event_row(event: DemoEvent) -> tuple[Any, ...]:
    values = list(_event_values(event))
    values[_DATA] = _json(event.data)
    if event.private_data is not None:
        values[_PRIVATE] = _json(event.private_data)
    return tuple(values)


def facts_of(w: Written, parents: dict[uuid.UUID, uuid.UUID | None], now: datetime) -> Facts | None:
    """The statistics' facts of a lived complaint: the refresh job's `derive` on what the
    rows say (as StatsRepository.inputs reads them back)."""
    c = w.complaint
    return derive(
        ComplaintIn(
            c.id,
            c.created_at,
            c.region_code,
            c.category_code,
            c.report_type,
            c.channel,
            c.status,
            c.returns_count,
        ),
        [EventIn(e.type, e.occurred_at, e.data) for e in w.events],
        [
            ClockIn(
                k.kind, k.timezone, k.started_at, k.due_at, k.stopped_at, k.paused_at, k.breached_at
            )
            for k in w.clocks
        ],
        [AssignmentIn(a.agency_id, a.role, a.source_id) for a in w.assignments],
        parents,
        now,
    )


@dataclass
class Task:
    """One batch of complaints to live in a worker process (everything it needs, picklable)."""

    complaints: list[tuple[tuple[Any, ...], str, bool]]  # (COMPLAINT_COLUMNS, regency, manual)
    decisions: dict[tuple[str, str, str, frozenset[uuid.UUID]], Choice | None]
    agencies: dict[uuid.UUID, DemoAgency]
    parents: dict[uuid.UUID, uuid.UUID | None]
    settings: Settings
    horizon: datetime
    seed: int


@dataclass
class Rows:
    """What a batch leaves in each table, as COPY records, and the rollup cells it touches."""

    complaints: list[tuple[Any, ...]] = field(default_factory=list)
    assignments: list[tuple[Any, ...]] = field(default_factory=list)
    clocks: list[tuple[Any, ...]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    follow_ups: list[tuple[Any, ...]] = field(default_factory=list)
    facts: list[tuple[Any, ...]] = field(default_factory=list)
    cells: set[tuple[date, str]] = field(default_factory=set)
    agency_cells: set[tuple[date, uuid.UUID]] = field(default_factory=set)
    report: DemoReport = field(default_factory=DemoReport)

    def add(self, w: Written, facts: Facts | None) -> None:
        self.complaints.append(_complaint_row(w.complaint))
        self.assignments += [_assignment_row(a) for a in w.assignments]
        self.clocks += [_clock_row(c) for c in w.clocks]
        self.events += [_event_row(e) for e in w.events]
        self.follow_ups += [_follow_up_row(f) for f in w.follow_ups]
        if facts is not None:
            self.facts.append(_fact_row(facts))
            self.cells.add((facts.week, facts.region_code))
            self.agency_cells.update((facts.week, a) for a in facts.agency_ids)
        report = self.report
        report.complaints += 1
        report.events += len(w.events)
        report.clocks += len(w.clocks)
        report.assignments += len(w.assignments)
        report.by_status[w.complaint.status] = report.by_status.get(w.complaint.status, 0) + 1


def live_batch(task: Task) -> Rows:
    """Lives a batch of complaints (in a worker process, or inline) into COPY records, the
    statistics' facts included (as of the horizon: the sweep ran up to it)."""
    rng = random.Random(task.seed)
    rows = Rows()
    for values, regency, manual in task.complaints:

        def decide(
            report_type: str,
            category: str,
            _region: str,
            refused: frozenset[uuid.UUID],
            regency: str = regency,
        ) -> Choice | None:
            return task.decisions.get((report_type, category, regency, refused))

        life = Life(
            plain(Complaint, **dict(zip(COMPLAINT_COLUMNS, values, strict=True))),
            agencies=task.agencies,
            decide=decide,
            settings=task.settings,
            horizon=task.horizon,
            rng=rng,
            manual=manual,
        )
        written = life.live()
        rows.add(written, facts_of(written, task.parents, task.horizon))
    return rows


TABLES = (
    ("complaints", COMPLAINT_COLUMNS, "complaints"),
    ("complaint_agencies", ASSIGNMENT_COLUMNS, "assignments"),
    ("complaint_clocks", CLOCK_COLUMNS, "clocks"),
    ("events", EVENT_COLUMNS, "events"),
    ("complaint_follow_ups", FOLLOW_UP_COLUMNS, "follow_ups"),
    ("stats_complaint_facts", FACT_COLUMNS, "facts"),
)


async def plan(session: AsyncSession, world: World, count: int, workers: int = 1) -> list[Task]:
    """The next `count` complaints (drawn in order from the world's rng) with the engine's
    decisions they need, split into one task per worker process (reads only)."""
    engine = DispositionEngine(session)
    planned: list[tuple[tuple[Any, ...], str, bool]] = []
    for _ in range(count):
        complaint = new_complaint(world)
        regency = await _prefetch(engine, world, complaint)
        manual = complaint.category_code in world.manual or world.rng.random() < 0.1
        planned.append((_complaint_row(complaint), regency, manual))
    size = max(1, -(-count // max(1, workers)))
    tasks = []
    for start in range(0, count, size):
        batch = planned[start : start + size]
        regencies = {regency for _, regency, _ in batch}
        tasks.append(
            Task(
                batch,
                {k: v for k, v in world.decisions.items() if k[2] in regencies},
                world.agencies,
                world.parents,
                world.settings,
                world.horizon,
                world.rng.getrandbits(64),
            )
        )
    world.written += count
    return tasks


def live(tasks: list[Task], pool: Executor | None) -> "asyncio.Future[list[Rows]]":
    """The tasks lived in `pool`'s processes (running while the caller goes on), or inline."""
    loop = asyncio.get_running_loop()
    if pool is None:
        done: asyncio.Future[list[Rows]] = loop.create_future()
        done.set_result([live_batch(task) for task in tasks])
        return done
    return asyncio.gather(*(loop.run_in_executor(pool, live_batch, t) for t in tasks))


async def write(session: AsyncSession, world: World, parts: list[Rows]) -> DemoReport:
    """COPY lived batches in the session's transaction (never commits)."""
    repo = DemoRepository(session)
    report = DemoReport()
    for table, columns, attribute in TABLES:
        records = [record for part in parts for record in getattr(part, attribute)]
        await repo.copy(table, columns, records)
    for part in parts:
        merge(report, part.report)
        world.cells |= part.cells
        world.agency_cells |= part.agency_cells
    return report


async def write_chunk(
    session: AsyncSession, world: World, count: int, pool: Executor | None = None
) -> DemoReport:
    """Live and write `count` complaints in the session's transaction (never commits). The
    lives run in `pool`'s processes (one batch per process) when given, else inline."""
    workers = getattr(pool, "_max_workers", 1) if pool is not None else 1
    tasks = await plan(session, world, count, workers)
    return await write(session, world, await live(tasks, pool))


async def finish(session: AsyncSession, world: World) -> None:
    """After the chunks (never commits): the weekly rollups of every cell the facts touched,
    rebuilt a week at a time, the refresh job's watermark moved past the demo history, and the
    planner's statistics of the tables written."""
    weeks = {week for week, _ in world.cells} | {week for week, _ in world.agency_cells}
    await BulkStatsRepository(session).rebuild_weeks(weeks)
    world.cells.clear()
    world.agency_cells.clear()
    overlap = timedelta(seconds=world.settings.stats_refresh_overlap_seconds)
    await after_bulk_facts(
        session, world.horizon, datetime.now(UTC), overlap, others_before=world.existing > 0
    )
    await DemoRepository(session).analyze()


def merge(total: DemoReport, part: DemoReport) -> None:
    total.complaints += part.complaints
    total.events += part.events
    total.clocks += part.clocks
    total.assignments += part.assignments
    for status, n in part.by_status.items():
        total.by_status[status] = total.by_status.get(status, 0) + n
