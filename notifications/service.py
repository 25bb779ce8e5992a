"""Webhook operations: register and manage endpoints, fan events out to deliveries, claim due
deliveries and record what became of them. Never commits: the request dependency, the job
wrapper or the dispatcher (each an edge) does."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from notifications.config import DispatchConfig
from notifications.domain import (
    ORDER_MAX_WAIT_SECONDS,
    Circuit,
    Claim,
    DeliveryStatus,
    Outcome,
)
from notifications.repository import (
    DeliveryRepository,
    DispatchRepository,
    EndpointRepository,
    ReferenceRepository,
    new_id,
)
from notifications.schemas import DeliveryOut, EndpointCreate, EndpointCreated, EndpointOut
from notifications.signing import new_secret
from notifications.targets import TargetRefused, TargetUnresolvable, vet
from services.events.catalogue import INTERNAL_EVENTS, Consumer, EventType, consumers_of
from services.events.envelope import EventEnvelope
from services.logging import get_logger
from services.models import WebhookEndpoint
from services.pagination import Page, decode_cursor, encode_cursor
from services.problems import ProblemError
from services.settings import Settings

log = get_logger(__name__)
KNOWN_EVENT_TYPES = frozenset(t.value for t in EventType if t not in INTERNAL_EVENTS)


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def _cursor_id(cursor: str | None) -> uuid.UUID | None:
    key = decode_cursor(cursor)
    if key is None:
        return None
    try:
        return uuid.UUID(key)
    except ValueError as exc:
        raise ProblemError("validation_failed", errors=[("/cursor", "invalid_cursor")]) from exc


class EndpointService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.settings = settings
        self.endpoints = EndpointRepository(session)
        self.deliveries = DeliveryRepository(session)
        self.reference = ReferenceRepository(session)

    async def _validate(self, url: str, region_codes: list[str], event_types: list[str]) -> None:
        errors: list[tuple[str, str]] = []
        if not self.settings.webhook_allow_private_targets:
            try:
                await vet(url)
            except TargetRefused:
                errors.append(("/url", "private_target"))
            except TargetUnresolvable:
                errors.append(("/url", "unresolvable_target"))
        known = await self.reference.existing_regions(region_codes)
        errors += [
            (f"/region_codes/{i}", "unknown_region")
            for i, code in enumerate(region_codes)
            if code not in known
        ]
        errors += [
            (f"/event_types/{i}", "unknown_event_type")
            for i, type_ in enumerate(event_types)
            if type_ not in KNOWN_EVENT_TYPES
        ]
        if errors:
            raise ProblemError("validation_failed", errors=errors)

    async def register(self, payload: EndpointCreate) -> EndpointCreated:
        url = str(payload.url)
        # Pointers index the list as sent, so validate before removing repeats.
        await self._validate(url, payload.region_codes, payload.event_types)
        endpoint = WebhookEndpoint(
            id=new_id(),
            url=url,
            description=payload.description or None,
            region_codes=_unique(payload.region_codes),
            event_types=_unique(payload.event_types),
            secret=new_secret(),
            active=True,
        )
        await self.endpoints.add(endpoint)
        log.info("webhook endpoint %s registered for %s", endpoint.id, url)
        return EndpointCreated(
            **EndpointOut.model_validate(endpoint).model_dump(), secret=endpoint.secret
        )

    async def _get(self, endpoint_id: uuid.UUID) -> WebhookEndpoint:
        endpoint = await self.endpoints.get(endpoint_id)
        if endpoint is None:
            raise ProblemError("not_found", f"no webhook endpoint {endpoint_id}")
        return endpoint

    async def get(self, endpoint_id: uuid.UUID) -> EndpointOut:
        return EndpointOut.model_validate(await self._get(endpoint_id))

    async def page(
        self, *, cursor: str | None, limit: int, active: bool | None
    ) -> Page[EndpointOut]:
        rows = await self.endpoints.page(after=_cursor_id(cursor), limit=limit + 1, active=active)
        items = [EndpointOut.model_validate(e) for e in rows[:limit]]
        next_cursor = encode_cursor(str(rows[limit - 1].id)) if len(rows) > limit else None
        return Page[EndpointOut](items=items, next_cursor=next_cursor)

    async def deactivate(self, endpoint_id: uuid.UUID) -> None:
        """Stop deliveries to an endpoint. Kept (not deleted) so its delivery history stays."""
        endpoint = await self._get(endpoint_id)
        if endpoint.active:
            endpoint.active = False
            await self.deliveries.cancel_pending(endpoint_id)
            log.info("webhook endpoint %s deactivated", endpoint_id)

    async def deliveries_page(
        self,
        endpoint_id: uuid.UUID,
        *,
        cursor: str | None,
        limit: int,
        status: DeliveryStatus | None,
    ) -> Page[DeliveryOut]:
        await self._get(endpoint_id)
        rows = await self.deliveries.page_for_endpoint(
            endpoint_id,
            before=_cursor_id(cursor),
            limit=limit + 1,
            status=status.value if status else None,
        )
        items = [
            DeliveryOut(
                id=d.id,
                event_id=d.event_id,
                event_type=event_type,
                status=DeliveryStatus(d.status),
                attempts=d.attempts,
                last_status_code=d.last_status_code,
                last_error=d.last_error,
                next_attempt_at=d.next_attempt_at if d.status == DeliveryStatus.pending else None,
                delivered_at=d.delivered_at,
                created_at=d.created_at,
            )
            for d, event_type in rows[:limit]
        ]
        next_cursor = encode_cursor(str(rows[limit - 1][0].id)) if len(rows) > limit else None
        return Page[DeliveryOut](items=items, next_cursor=next_cursor)


# Events whose deliveries keep their complaint's order (see FanOutService).
ORDERED_TYPES = tuple(t.value for t in EventType if Consumer.notifications in consumers_of(t))


class FanOutService:
    """Turns one event into one pending delivery per endpoint whose filters admit it. Events of
    a complaint may be handled out of order (jobs run concurrently, or retry): an earlier event
    not handled yet is fanned out along with the later one, so that at every endpoint the
    earlier delivery exists, and is claimed, first."""

    def __init__(
        self, session: AsyncSession, order_max_wait_seconds: float = ORDER_MAX_WAIT_SECONDS
    ) -> None:
        self.deliveries = DeliveryRepository(session)
        self.order_max_wait_seconds = order_max_wait_seconds

    async def on_event(self, event: EventEnvelope) -> list[uuid.UUID]:
        """Ids of the deliveries created (none for an event already fanned out)."""
        return await self.deliveries.fan_out(
            event.id,
            event.complaint_id,
            ordered_types=ORDERED_TYPES,
            consumer=Consumer.notifications.value,
            order_max_wait_seconds=self.order_max_wait_seconds,
        )


class DispatchService:
    """The dispatcher's two database steps, each meant for one short transaction."""

    def __init__(self, session: AsyncSession, config: DispatchConfig) -> None:
        self.config = config
        self.repository = DispatchRepository(session)

    async def claim(self, limit: int) -> list[Claim]:
        """Lease up to `limit` due deliveries (see DispatchRepository for which)."""
        if not await self.repository.anything_due():
            return []
        await self.repository.serialize_claims()
        return await self.repository.claim(
            batch=limit,
            endpoint_concurrency=self.config.endpoint_concurrency,
            breaker_failures=self.config.breaker.failures,
            lease_seconds=self.config.lease_seconds,
            order_max_wait_seconds=self.config.order_max_wait_seconds,
        )

    async def record(self, outcomes: Sequence[Outcome]) -> list[Outcome]:
        """Write finished attempts (in the order they finished) and the endpoints' circuits;
        returns the outcomes written (not those whose lease another dispatcher took over)."""
        attempted = [o for o in outcomes if o.attempted]
        now, circuits = await self.repository.lock_circuits({o.endpoint_id for o in attempted})
        written = await self.repository.record_attempts(attempted)
        await self.repository.cancel([o.delivery_id for o in outcomes if not o.attempted])
        recorded = [o for o in attempted if o.delivery_id in written]
        if now is not None:
            await self.repository.save_circuits(self._circuits_after(circuits, recorded, now))
        return recorded + [o for o in outcomes if not o.attempted]

    def _circuits_after(
        self, circuits: dict[uuid.UUID, Circuit], recorded: Sequence[Outcome], now: datetime
    ) -> dict[uuid.UUID, Circuit]:
        """The circuits that changed."""
        after = dict(circuits)
        for outcome in recorded:
            after[outcome.endpoint_id] = after[outcome.endpoint_id].after(
                outcome.ok, now, self.config.breaker
            )
        changed = {i: c for i, c in after.items() if c != circuits[i]}
        for endpoint_id, circuit in changed.items():
            before = circuits[endpoint_id]
            if circuit.open_until is not None and circuit.open_until != before.open_until:
                log.warning(
                    "webhook endpoint %s: circuit open until %s after %d failures in a row",
                    endpoint_id,
                    circuit.open_until.isoformat(),
                    circuit.failure_streak,
                )
            elif before.trips and not circuit.trips:
                log.info("webhook endpoint %s: circuit closed", endpoint_id)
        return changed
