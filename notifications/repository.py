"""All of notifications' SQL.

The dispatcher's statements are written out as SQL: they are the heart of delivery (claim, order,
limits, breaker) and read best as such. Every one of them is short and runs in a short transaction.
"""

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload
from uuid6 import uuid7

from notifications.domain import Circuit, Claim, DeliveryStatus, Outcome
from services.models import Event, Region, WebhookDelivery, WebhookEndpoint

# Serialises claims across processes (pg_advisory_xact_lock): each claim sees the leases of the
# one before, so per-endpoint limits hold across every dispatcher. A claim takes milliseconds.
CLAIM_LOCK_KEY = 0x616475616E5F7768  # "aduan_wh"

# A UUIDv7 made by PostgreSQL (16 has no uuidv7()): milliseconds since the epoch in the first 48
# bits of a random UUID, version bits set to 7. Delivery ids stay time-ordered for pagination.
UUID7_SQL = (
    "CAST(encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid()) PLACING "
    "substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3) "
    "FROM 1 FOR 6), 52, 1), 53, 1), 'hex') AS uuid)"
)

# The event, and the earlier events of its complaint that no fan-out took yet (their jobs are
# late, or running right now), each to every active endpoint whose filters admit it: the
# complaint's deliveries then exist in order before any can be claimed. An earlier event's own
# job finds its deliveries there already (ON CONFLICT DO NOTHING).
FAN_OUT = text(
    f"""
    WITH fanned AS (
        SELECT ev.id, ev.type, ev.complaint_id, ev.data ->> 'region_code' AS region_code
        FROM events ev
        WHERE ev.id = :event_id
        UNION ALL
        SELECT ev.id, ev.type, ev.complaint_id, ev.data ->> 'region_code'
        FROM events ev
        WHERE ev.complaint_id = :complaint_id
          AND ev.id < :event_id
          AND ev.type = ANY(CAST(:ordered_types AS varchar[]))
          AND ev.occurred_at > now() - make_interval(secs => :order_max_wait)
          AND NOT EXISTS (
              SELECT 1 FROM processed_events pe
              WHERE pe.consumer = :consumer AND pe.event_id = ev.id)
    )
    INSERT INTO webhook_deliveries
        (id, endpoint_id, event_id, complaint_id, status, attempts, next_attempt_at)
    SELECT {UUID7_SQL}, e.id, f.id, f.complaint_id, 'pending', 0, now()
    FROM fanned f
    JOIN webhook_endpoints e
      ON e.active
     AND (cardinality(e.event_types) = 0 OR f.type = ANY(e.event_types))
     -- notifications.domain.in_scope: a scope covers itself and the codes beneath it.
     AND (cardinality(e.region_codes) = 0 OR EXISTS (
            SELECT 1 FROM unnest(e.region_codes) AS scope(code)
            WHERE scope.code = f.region_code OR starts_with(f.region_code, scope.code || '.')))
    ON CONFLICT (endpoint_id, event_id) DO NOTHING
    RETURNING id
    """
)

ANYTHING_DUE = text(
    """
    SELECT EXISTS (
        SELECT 1 FROM webhook_deliveries
        WHERE status = 'pending' AND next_attempt_at <= now()
          AND (lease_until IS NULL OR lease_until <= now()))
    """
)

# Due deliveries, oldest first, each endpoint's at most up to its room: its limit (1 for a probe
# of a half-open circuit) minus its deliveries leased already; none of an endpoint whose circuit
# is open; none while an earlier event of its complaint is still pending for that endpoint,
# unless that one has been pending for longer than the order bound (see FAN_OUT for events not
# fanned out yet). Deliveries of a deactivated endpoint are claimed regardless, to be cancelled.
#
# The plan must not depend on fresh statistics (a burst of fan-outs outruns autovacuum): each
# endpoint's due rows are read in the order of ix_webhook_deliveries_endpoint_due and stop at its
# room; the order check is a per-row probe (OFFSET 0 keeps it a subplan) that only
# ix_webhook_deliveries_complaint_order can answer: IS NOT DISTINCT FROM (the same as = here, the
# column is never null) keeps the planner from reading the endpoint's rows by an endpoint index.
CLAIM = text(
    """
    WITH leased AS (
        SELECT endpoint_id, count(*) AS n
        FROM webhook_deliveries
        WHERE status = 'pending' AND lease_until IS NOT NULL AND lease_until > now()
        GROUP BY endpoint_id
    ), open_endpoints AS (
        SELECT e.id,
               CASE WHEN NOT e.active THEN :batch
                    WHEN e.failure_streak >= :breaker_failures THEN 1
                    ELSE :endpoint_concurrency
               END - coalesce(l.n, 0) AS room
        FROM webhook_endpoints e LEFT JOIN leased l ON l.endpoint_id = e.id
        WHERE NOT e.active OR e.circuit_open_until IS NULL OR e.circuit_open_until <= now()
    ), picked AS (
        SELECT d.id, d.next_attempt_at
        FROM open_endpoints o
        CROSS JOIN LATERAL (
            SELECT d.id, d.next_attempt_at
            FROM webhook_deliveries d
            WHERE d.endpoint_id = o.id
              AND d.status = 'pending'
              AND d.next_attempt_at <= now()
              AND (d.lease_until IS NULL OR d.lease_until <= now())
              AND (d.complaint_id IS NULL OR NOT EXISTS (
                  SELECT 1 FROM webhook_deliveries p
                  WHERE p.complaint_id = d.complaint_id
                    AND p.endpoint_id IS NOT DISTINCT FROM d.endpoint_id
                    AND p.event_id < d.event_id
                    AND p.status = 'pending'
                    AND p.complaint_id IS NOT NULL
                    AND p.created_at > now() - make_interval(secs => :order_max_wait)
                  OFFSET 0))
            ORDER BY d.endpoint_id, d.next_attempt_at
            LIMIT greatest(o.room, 0)
            FOR UPDATE OF d SKIP LOCKED
        ) d
        ORDER BY d.next_attempt_at
        LIMIT :batch
    )
    UPDATE webhook_deliveries w
    SET lease_until = now() + make_interval(secs => :lease_seconds)
    FROM picked, webhook_endpoints e, events ev
    WHERE w.id = picked.id AND e.id = w.endpoint_id AND ev.id = w.event_id
    RETURNING w.id, w.endpoint_id, w.event_id, w.attempts, e.url, e.secret, e.active,
              ev.type, ev.occurred_at, ev.data, ev.trace_id
    """
)

# Endpoints first, in id order, then deliveries: the same order as a deactivation takes them,
# so two transactions never wait on each other in a circle.
LOCK_CIRCUITS = text(
    """
    SELECT id, failure_streak, circuit_trips, circuit_open_until, now() AS now
    FROM webhook_endpoints
    WHERE id = ANY(CAST(:ids AS uuid[]))
    ORDER BY id
    FOR NO KEY UPDATE
    """
)

# Fenced by the attempt count: the outcome of a dispatcher whose lease expired, and whose
# delivery someone else already attempted again, is not recorded over the newer one.
RECORD_ATTEMPTS = text(
    """
    UPDATE webhook_deliveries d
    SET status = o.status,
        attempts = o.attempts_before + 1,
        last_status_code = o.status_code,
        last_error = o.error,
        delivered_at = o.delivered_at,
        next_attempt_at = CASE WHEN o.retry_in IS NULL THEN d.next_attempt_at
                               ELSE now() + make_interval(secs => o.retry_in) END,
        lease_until = NULL
    FROM unnest(CAST(:ids AS uuid[]), CAST(:attempts AS integer[]), CAST(:statuses AS text[]),
                CAST(:status_codes AS integer[]), CAST(:errors AS text[]),
                CAST(:delivered_at AS timestamptz[]), CAST(:retry_in AS float8[]))
         AS o(id, attempts_before, status, status_code, error, delivered_at, retry_in)
    WHERE d.id = o.id AND d.status = 'pending' AND d.attempts = o.attempts_before
    RETURNING d.id
    """
)

CANCEL = text(
    """
    UPDATE webhook_deliveries SET status = 'cancelled', lease_until = NULL
    WHERE id = ANY(CAST(:ids AS uuid[])) AND status = 'pending'
    """
)

SAVE_CIRCUITS = text(
    """
    UPDATE webhook_endpoints e
    SET failure_streak = c.streak, circuit_trips = c.trips, circuit_open_until = c.open_until
    FROM unnest(CAST(:ids AS uuid[]), CAST(:streaks AS integer[]), CAST(:trips AS integer[]),
                CAST(:open_until AS timestamptz[])) AS c(id, streak, trips, open_until)
    WHERE e.id = c.id
    """
)


class ReferenceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def existing_regions(self, codes: Sequence[str]) -> set[str]:
        if not codes:
            return set()
        rows = await self.session.scalars(select(Region.code).where(Region.code.in_(codes)))
        return set(rows)


class EndpointRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, endpoint: WebhookEndpoint) -> None:
        self.session.add(endpoint)
        await self.session.flush()
        await self.session.refresh(endpoint)  # created_at comes from the database

    async def get(self, endpoint_id: uuid.UUID) -> WebhookEndpoint | None:
        return await self.session.get(WebhookEndpoint, endpoint_id)

    async def page(
        self, *, after: uuid.UUID | None, limit: int, active: bool | None
    ) -> list[WebhookEndpoint]:
        # Ids are UUIDv7, so id order is creation order and a stable cursor.
        query = select(WebhookEndpoint).order_by(WebhookEndpoint.id).limit(limit)
        if after is not None:
            query = query.where(WebhookEndpoint.id > after)
        if active is not None:
            query = query.where(WebhookEndpoint.active.is_(active))
        return list(await self.session.scalars(query))


class DeliveryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def fan_out(
        self,
        event_id: uuid.UUID,
        complaint_id: uuid.UUID | None,
        *,
        ordered_types: Sequence[str],
        consumer: str,
        order_max_wait_seconds: float,
    ) -> list[uuid.UUID]:
        """Pending deliveries of the event (and of earlier events of its complaint not fanned
        out yet), in one statement; pairs that already exist are left alone. The ids of the rows
        created."""
        result = await self.session.execute(
            FAN_OUT,
            {
                "event_id": event_id,
                "complaint_id": complaint_id,
                "ordered_types": list(ordered_types),
                "consumer": consumer,
                "order_max_wait": order_max_wait_seconds,
            },
        )
        return list(result.scalars())

    async def page_for_endpoint(
        self,
        endpoint_id: uuid.UUID,
        *,
        before: uuid.UUID | None,
        limit: int,
        status: str | None,
    ) -> list[tuple[WebhookDelivery, str]]:
        """Newest first (UUIDv7 ids), each with its event's type."""
        query = (
            select(WebhookDelivery, Event.type)
            .join(Event, Event.id == WebhookDelivery.event_id)
            .where(WebhookDelivery.endpoint_id == endpoint_id)
            .options(lazyload(WebhookDelivery.endpoint))
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
        if before is not None:
            query = query.where(WebhookDelivery.id < before)
        if status is not None:
            query = query.where(WebhookDelivery.status == status)
        result = await self.session.execute(query)
        return [(row[0], row[1]) for row in result]

    async def cancel_pending(self, endpoint_id: uuid.UUID) -> None:
        await self.session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.endpoint_id == endpoint_id,
                WebhookDelivery.status == DeliveryStatus.pending,
            )
            .values(status=DeliveryStatus.cancelled.value)
        )


class DispatchRepository:
    """The dispatcher's statements; the dispatcher runs each group in its own transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def anything_due(self) -> bool:
        """Cheap (the partial index of due rows): idle polls end here."""
        return bool(await self.session.scalar(ANYTHING_DUE))

    async def serialize_claims(self) -> None:
        await self.session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": CLAIM_LOCK_KEY}
        )

    async def claim(
        self,
        *,
        batch: int,
        endpoint_concurrency: int,
        breaker_failures: int,
        lease_seconds: float,
        order_max_wait_seconds: float,
    ) -> list[Claim]:
        result = await self.session.execute(
            CLAIM,
            {
                "batch": batch,
                "endpoint_concurrency": endpoint_concurrency,
                "breaker_failures": breaker_failures,
                "lease_seconds": lease_seconds,
                "order_max_wait": order_max_wait_seconds,
            },
        )
        return [
            Claim(
                delivery_id=row.id,
                endpoint_id=row.endpoint_id,
                event_id=row.event_id,
                attempts=row.attempts,
                url=row.url,
                secret=row.secret,
                endpoint_active=row.active,
                event_type=row.type,
                occurred_at=row.occurred_at,
                data=row.data,
                trace_id=row.trace_id,
            )
            for row in result
        ]

    async def lock_circuits(
        self, endpoint_ids: Iterable[uuid.UUID]
    ) -> tuple[datetime | None, dict[uuid.UUID, Circuit]]:
        """The database's clock and the endpoints' circuits, locked until the commit."""
        result = await self.session.execute(LOCK_CIRCUITS, {"ids": sorted(endpoint_ids)})
        now: datetime | None = None
        circuits: dict[uuid.UUID, Circuit] = {}
        for row in result:
            now = row.now
            circuits[row.id] = Circuit(
                row.failure_streak, row.circuit_trips, row.circuit_open_until
            )
        return now, circuits

    async def record_attempts(self, outcomes: Sequence[Outcome]) -> set[uuid.UUID]:
        """The ids of the deliveries whose outcome was written."""
        if not outcomes:
            return set()
        result = await self.session.execute(
            RECORD_ATTEMPTS,
            {
                "ids": [o.delivery_id for o in outcomes],
                "attempts": [o.attempts_before for o in outcomes],
                "statuses": [o.status.value for o in outcomes],
                "status_codes": [o.status_code for o in outcomes],
                "errors": [o.error for o in outcomes],
                "delivered_at": [o.delivered_at for o in outcomes],
                "retry_in": [o.retry_in for o in outcomes],
            },
        )
        return set(result.scalars())

    async def cancel(self, delivery_ids: Sequence[uuid.UUID]) -> None:
        if delivery_ids:
            await self.session.execute(CANCEL, {"ids": list(delivery_ids)})

    async def save_circuits(self, circuits: dict[uuid.UUID, Circuit]) -> None:
        if not circuits:
            return
        ids = sorted(circuits)
        await self.session.execute(
            SAVE_CIRCUITS,
            {
                "ids": ids,
                "streaks": [circuits[i].failure_streak for i in ids],
                "trips": [circuits[i].trips for i in ids],
                "open_until": [circuits[i].open_until for i in ids],
            },
        )


def new_id() -> uuid.UUID:
    """UUIDv7: time-ordered, so id order is creation order."""
    return uuid.UUID(str(uuid7()))
