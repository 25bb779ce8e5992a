"""All of notifications' SQL.

The dispatcher's statements are written out as SQL: they are the heart of delivery (claim, order,
limits, breaker) and read best as such. Every one of them is short and runs in a short transaction.
"""

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload
from uuid6 import uuid7

from notifications.domain import Circuit, Claim, DeliveryStatus, EndpointState, Outcome
from services.models import Agency, Event, Region, WebhookAttempt, WebhookDelivery, WebhookEndpoint

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
        SELECT ev.id, ev.type, ev.complaint_id, ev.data ->> 'region_code' AS region_code, ev.data
        FROM events ev
        WHERE ev.id = :event_id
        UNION ALL
        SELECT ev.id, ev.type, ev.complaint_id, ev.data ->> 'region_code', ev.data
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
     AND f.type <> 'webhook.ping'  -- a ping goes to its one endpoint (EndpointService.ping)
     AND CASE WHEN starts_with(f.type, 'webhook.') THEN
            -- About an endpoint: to its owner's and to admins' endpoints that name the type.
            f.type = ANY(e.event_types)
            AND CAST(e.id AS text) IS DISTINCT FROM f.data ->> 'endpoint_id'
            AND (e.owner_kind = 'admin'
                 OR (e.owner_kind = f.data ->> 'owner_kind'
                     AND e.owner_ref = f.data ->> 'owner_ref'))
          ELSE
            (cardinality(e.event_types) = 0 OR f.type = ANY(e.event_types))
            -- notifications.domain.in_scope: no scope admits all; else a region (a scope
            -- covers itself and the codes beneath it) or an assigned agency.
            AND ((cardinality(e.region_codes) = 0 AND cardinality(e.agency_ids) = 0)
                 OR EXISTS (
                    SELECT 1 FROM unnest(e.region_codes) AS scope(code)
                    WHERE scope.code = f.region_code
                       OR starts_with(f.region_code, scope.code || '.'))
                 OR EXISTS (
                    SELECT 1
                    FROM jsonb_array_elements(CASE WHEN jsonb_typeof(f.data -> 'agencies')
                                                        = 'array'
                                                   THEN f.data -> 'agencies'
                                                   ELSE '[]'::jsonb END) AS a(agency)
                    WHERE a.agency ->> 'id' = ANY(CAST(e.agency_ids AS text[]))))
         END
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
              ev.type, ev.occurred_at, ev.data, ev.trace_id,
              CASE WHEN e.previous_secret_until > now() THEN e.previous_secret END
                  AS previous_secret,
              e.owner_kind, CAST(e.agency_ids AS text[]) AS agency_ids,
              -- The event's place in its complaint's history (ids are time-ordered).
              (SELECT count(*) FROM events s
               WHERE ev.complaint_id IS NOT NULL AND s.complaint_id = ev.complaint_id
                 AND s.id <= ev.id) AS sequence
    """
)

# Endpoints first, in id order, then deliveries: the same order as a deactivation takes them,
# so two transactions never wait on each other in a circle.
LOCK_CIRCUITS = text(
    """
    SELECT id, failure_streak, circuit_trips, circuit_open_until, now() AS now,
           active, owner_kind, owner_ref, url, failing_since, last_success_at
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

SAVE_HEALTH = text(
    """
    UPDATE webhook_endpoints e
    SET last_success_at = CASE WHEN h.ok THEN h.at ELSE e.last_success_at END,
        failing_since = CASE WHEN h.ok THEN NULL ELSE coalesce(e.failing_since, h.at) END
    FROM unnest(CAST(:ids AS uuid[]), CAST(:ok AS boolean[]), CAST(:at AS timestamptz[]))
         AS h(id, ok, at)
    WHERE e.id = h.id
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

    async def existing_agencies(self, ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        if not ids:
            return set()
        rows = await self.session.scalars(select(Agency.id).where(Agency.id.in_(ids)))
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

    async def now(self) -> datetime:
        """The database's clock (the dispatcher compares against it)."""
        return (await self.session.execute(select(func.now()))).scalar_one()

    async def page(
        self,
        *,
        after: uuid.UUID | None,
        limit: int,
        active: bool | None,
        owner_kind: str | None = None,
        owner_refs: Sequence[str] | None = None,
    ) -> list[WebhookEndpoint]:
        # Ids are UUIDv7, so id order is creation order and a stable cursor.
        query = select(WebhookEndpoint).order_by(WebhookEndpoint.id).limit(limit)
        if after is not None:
            query = query.where(WebhookEndpoint.id > after)
        if active is not None:
            query = query.where(WebhookEndpoint.active.is_(active))
        if owner_kind is not None:
            query = query.where(
                WebhookEndpoint.owner_kind == owner_kind,
                WebhookEndpoint.owner_ref.in_(owner_refs or []),
            )
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

    async def page(
        self,
        *,
        endpoint_id: uuid.UUID | None,
        before: uuid.UUID | None,
        limit: int,
        status: str | None,
        event_type: str | None = None,
        since: datetime | None = None,
        owner_kind: str | None = None,
        owner_refs: Sequence[str] | None = None,
    ) -> list[tuple[WebhookDelivery, str]]:
        """Newest first (UUIDv7 ids), each with its event's type."""
        query = (
            select(WebhookDelivery, Event.type)
            .join(Event, Event.id == WebhookDelivery.event_id)
            .options(lazyload(WebhookDelivery.endpoint))
            .order_by(WebhookDelivery.id.desc())
            .limit(limit)
        )
        if endpoint_id is not None:
            query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
        if owner_kind is not None:
            query = query.join(
                WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id
            ).where(
                WebhookEndpoint.owner_kind == owner_kind,
                WebhookEndpoint.owner_ref.in_(owner_refs or []),
            )
        if before is not None:
            query = query.where(WebhookDelivery.id < before)
        if status is not None:
            query = query.where(WebhookDelivery.status == status)
        if event_type is not None:
            query = query.where(Event.type == event_type)
        if since is not None:
            query = query.where(WebhookDelivery.created_at >= since)
        result = await self.session.execute(query)
        return [(row[0], row[1]) for row in result]

    async def get(self, delivery_id: uuid.UUID) -> tuple[WebhookDelivery, str] | None:
        """With its endpoint loaded, and its event's type."""
        row = (
            await self.session.execute(
                select(WebhookDelivery, Event.type)
                .join(Event, Event.id == WebhookDelivery.event_id)
                .where(WebhookDelivery.id == delivery_id)
            )
        ).first()
        return None if row is None else (row[0], row[1])

    async def attempts(self, delivery_id: uuid.UUID) -> list[WebhookAttempt]:
        query = (
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery_id)
            .order_by(WebhookAttempt.attempted_at, WebhookAttempt.id)
        )
        return list(await self.session.scalars(query))

    async def add_one(self, endpoint_id: uuid.UUID, event_id: uuid.UUID) -> uuid.UUID:
        delivery_id = new_id()
        await self.session.execute(
            insert(WebhookDelivery).values(
                id=delivery_id,
                endpoint_id=endpoint_id,
                event_id=event_id,
                status=DeliveryStatus.pending.value,
                attempts=0,
            )
        )
        return delivery_id

    async def failed_since(self, endpoint_id: uuid.UUID, since: datetime) -> list[uuid.UUID]:
        query = select(WebhookDelivery.id).where(
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.status.in_([DeliveryStatus.dead.value, DeliveryStatus.cancelled.value]),
            WebhookDelivery.created_at >= since,
        )
        return list(await self.session.scalars(query))

    async def restart(self, delivery_ids: Sequence[uuid.UUID]) -> None:
        """Pending again, due now, attempts counted afresh (their rows stay)."""
        if not delivery_ids:
            return
        await self.session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id.in_(delivery_ids),
                WebhookDelivery.status != DeliveryStatus.pending.value,
            )
            .values(
                status=DeliveryStatus.pending.value,
                attempts=0,
                next_attempt_at=func.now(),
                lease_until=None,
                delivered_at=None,
            )
        )

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
                previous_secret=row.previous_secret,
                sequence=row.sequence or None,
                owner_kind=row.owner_kind,
                agency_ids=tuple(row.agency_ids or ()),
            )
            for row in result
        ]

    async def lock_circuits(
        self, endpoint_ids: Iterable[uuid.UUID]
    ) -> tuple[datetime | None, dict[uuid.UUID, Circuit], dict[uuid.UUID, EndpointState]]:
        """The database's clock and the endpoints' circuits and health, locked until the
        commit."""
        result = await self.session.execute(LOCK_CIRCUITS, {"ids": sorted(endpoint_ids)})
        now: datetime | None = None
        circuits: dict[uuid.UUID, Circuit] = {}
        states: dict[uuid.UUID, EndpointState] = {}
        for row in result:
            now = row.now
            circuits[row.id] = Circuit(
                row.failure_streak, row.circuit_trips, row.circuit_open_until
            )
            states[row.id] = EndpointState(
                row.id,
                row.active,
                row.owner_kind,
                row.owner_ref,
                row.url,
                row.failing_since,
                row.last_success_at,
            )
        return now, circuits, states

    async def add_attempts(self, outcomes: Sequence[Outcome]) -> None:
        """One row per attempt made, for the deliveries API."""
        if not outcomes:
            return
        await self.session.execute(
            insert(WebhookAttempt),
            [
                {
                    "id": new_id(),
                    "delivery_id": o.delivery_id,
                    "number": o.attempts_before + 1,
                    "attempted_at": o.attempted_at,
                    "status_code": o.status_code,
                    "latency_ms": o.latency_ms,
                    "response": o.response,
                    "error": o.error,
                }
                for o in outcomes
            ],
        )

    async def save_health(self, health: dict[uuid.UUID, tuple[bool, datetime]]) -> None:
        """Per endpoint: whether an attempt of this batch succeeded, and when (the last
        success, or the first failure)."""
        ids = sorted(health)
        if ids:
            await self.session.execute(
                SAVE_HEALTH,
                {
                    "ids": ids,
                    "ok": [health[i][0] for i in ids],
                    "at": [health[i][1] for i in ids],
                },
            )

    async def disable(self, endpoint_id: uuid.UUID, reason: str) -> None:
        await self.session.execute(
            update(WebhookEndpoint)
            .where(WebhookEndpoint.id == endpoint_id)
            .values(active=False, disabled_reason=reason)
        )
        await DeliveryRepository(self.session).cancel_pending(endpoint_id)

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
