"""Webhook operations: register and manage endpoints, fan events out to deliveries, claim due
deliveries and record what became of them. Never commits: the request dependency, the job
wrapper or the dispatcher (each an edge) does."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from notifications.config import DispatchConfig
from notifications.domain import (
    ORDER_MAX_WAIT_SECONDS,
    Circuit,
    Claim,
    DeliveryStatus,
    EndpointState,
    Outcome,
)
from notifications.repository import (
    DeliveryRepository,
    DispatchRepository,
    EndpointRepository,
    ReferenceRepository,
    new_id,
)
from notifications.schemas import (
    AttemptOut,
    DeliveryDetail,
    DeliveryOut,
    EndpointCreate,
    EndpointCreated,
    EndpointOut,
    EndpointUpdate,
    PingOut,
    RecoverOut,
    SecretRotated,
)
from notifications.signing import new_secret
from notifications.targets import Lookup, TargetRefused, TargetUnresolvable, resolve, vet
from notifications.vault import seal, unseal
from services.events.catalogue import INTERNAL_EVENTS, Consumer, EventType, consumers_of
from services.events.envelope import EventEnvelope
from services.events.outbox import record_event
from services.logging import get_logger
from services.models import WebhookDelivery, WebhookEndpoint
from services.pagination import Page, decode_cursor, encode_cursor
from services.policy import not_visible
from services.principal import AGENCY_ROLES, Principal, Role, system
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


def _out(endpoint: WebhookEndpoint, now: datetime | None = None) -> EndpointOut:
    grace = endpoint.previous_secret_until
    return EndpointOut(
        id=endpoint.id,
        url=endpoint.url,
        description=endpoint.description,
        region_codes=list(endpoint.region_codes),
        agency_ids=list(endpoint.agency_ids or []),
        event_types=list(endpoint.event_types),
        enabled=endpoint.active,
        active=endpoint.active,
        disabled_reason=None if endpoint.active else endpoint.disabled_reason,
        owner_kind=endpoint.owner_kind,
        owner_ref=endpoint.owner_ref,
        previous_secret_expires_at=grace if grace and (now is None or grace > now) else None,
        last_success_at=endpoint.last_success_at,
        failing_since=endpoint.failing_since,
        created_at=endpoint.created_at,
    )


@dataclass(frozen=True)
class Owner:
    """Who manages an endpoint, and the scope its filters must stay inside."""

    kind: str  # admin | agency | regional_system
    ref: str | None
    agency_ids: frozenset[str] = frozenset()  # an agency: itself and its offices
    region_codes: tuple[str, ...] = ()  # a regional system's regions

    @classmethod
    def of(cls, principal: Principal) -> "Owner":
        if principal.role is Role.admin:
            return cls("admin", principal.key)
        if principal.role in AGENCY_ROLES:
            agencies = frozenset(str(a) for a in principal.agency_ids)
            if principal.agency_id is not None:
                agencies |= {str(principal.agency_id)}
            ref = str(principal.agency_id) if principal.agency_id else principal.key
            return cls("agency", ref, agency_ids=agencies)
        if principal.role is Role.regional_system:
            return cls("regional_system", principal.key, region_codes=principal.region_codes)
        raise ProblemError("forbidden", f"the role {principal.role} may not manage webhooks")

    @property
    def admin(self) -> bool:
        return self.kind == "admin"

    def sees(self, endpoint: WebhookEndpoint) -> bool:
        if self.admin:
            return True
        if self.kind == "agency":
            return endpoint.owner_kind == "agency" and endpoint.owner_ref in self.agency_ids
        return endpoint.owner_kind == self.kind and endpoint.owner_ref == self.ref

    def covers_region(self, code: str) -> bool:
        return any(code == p or code.startswith(p + ".") for p in self.region_codes)


class EndpointService:
    """Endpoints as their owners manage them: admins any, an agency or a regional system its
    own (another's answers 404, like one that does not exist)."""

    def __init__(self, session: AsyncSession, settings: Settings, lookup: Lookup = resolve) -> None:
        self.session = session
        self.settings = settings
        self.lookup = lookup
        self.endpoints = EndpointRepository(session)
        self.deliveries = DeliveryRepository(session)
        self.reference = ReferenceRepository(session)

    @property
    def keys(self) -> list[str]:
        return self.settings.webhook_secret_keys

    def _allow_http(self) -> bool:
        allow = self.settings.webhook_allow_http
        return self.settings.webhook_allow_private_targets if allow is None else allow

    async def _validate(
        self,
        owner: Owner,
        url: str | None,
        region_codes: list[str] | None,
        agency_ids: list[uuid.UUID] | None,
        event_types: list[str] | None,
    ) -> None:
        errors: list[tuple[str, str]] = []
        if url is not None:
            if not url.startswith("https://") and not self._allow_http():
                errors.append(("/url", "https_required"))
            elif not self.settings.webhook_allow_private_targets:
                try:
                    await vet(url, self.lookup)
                except TargetRefused:
                    errors.append(("/url", "private_target"))
                except TargetUnresolvable:
                    errors.append(("/url", "unresolvable_target"))
        codes = region_codes or []
        known = await self.reference.existing_regions(codes)
        for i, code in enumerate(codes):
            if code not in known:
                errors.append((f"/region_codes/{i}", "unknown_region"))
            elif not owner.admin and not owner.covers_region(code):
                errors.append((f"/region_codes/{i}", "out_of_scope"))
        agencies = agency_ids or []
        existing = await self.reference.existing_agencies(agencies)
        for i, agency in enumerate(agencies):
            if agency not in existing:
                errors.append((f"/agency_ids/{i}", "unknown_agency"))
            elif not owner.admin and str(agency) not in owner.agency_ids:
                errors.append((f"/agency_ids/{i}", "out_of_scope"))
        errors += [
            (f"/event_types/{i}", "unknown_event_type")
            for i, type_ in enumerate(event_types or [])
            if type_ not in KNOWN_EVENT_TYPES
        ]
        if errors:
            raise ProblemError("validation_failed", errors=errors)

    def _scope(
        self, owner: Owner, region_codes: list[str], agency_ids: list[uuid.UUID]
    ) -> tuple[list[str], list[uuid.UUID]]:
        """An owner's endpoint with no scope gets the owner's whole scope (only admins' may
        hear every complaint); an owner with no scope at all may not register one."""
        if owner.admin or region_codes or agency_ids:
            return _unique(region_codes), list(dict.fromkeys(agency_ids))
        if owner.kind == "agency" and owner.agency_ids:
            return [], sorted(uuid.UUID(a) for a in owner.agency_ids)
        if owner.kind == "regional_system" and owner.region_codes:
            return list(owner.region_codes), []
        pointer = "/agency_ids" if owner.kind == "agency" else "/region_codes"
        raise ProblemError("validation_failed", errors=[(pointer, "out_of_scope")])

    async def register(self, principal: Principal, payload: EndpointCreate) -> EndpointCreated:
        owner = Owner.of(principal)
        url = str(payload.url)
        # Pointers index the lists as sent, so validate before removing repeats.
        await self._validate(
            owner, url, payload.region_codes, payload.agency_ids, payload.event_types
        )
        region_codes, agency_ids = self._scope(owner, payload.region_codes, payload.agency_ids)
        secret = new_secret()
        endpoint = WebhookEndpoint(
            id=new_id(),
            url=url,
            description=payload.description or None,
            region_codes=region_codes,
            agency_ids=agency_ids,
            event_types=_unique(payload.event_types),
            secret=seal(self.keys, secret),
            active=payload.enabled,
            disabled_reason=None if payload.enabled else "owner",
            owner_kind=owner.kind,
            owner_ref=owner.ref,
        )
        await self.endpoints.add(endpoint)
        log.info("webhook endpoint %s registered for %s by %s", endpoint.id, url, owner.kind)
        return EndpointCreated(**_out(endpoint).model_dump(), secret=secret)

    async def _get(self, principal: Principal, endpoint_id: uuid.UUID) -> WebhookEndpoint:
        endpoint = await self.endpoints.get(endpoint_id)
        if endpoint is None or not Owner.of(principal).sees(endpoint):
            raise not_visible("webhook endpoint", endpoint_id)
        return endpoint

    async def _live(self, principal: Principal, endpoint_id: uuid.UUID) -> WebhookEndpoint:
        endpoint = await self._get(principal, endpoint_id)
        if endpoint.deleted_at is not None:
            raise ProblemError("conflict", f"webhook endpoint {endpoint_id} was deleted")
        return endpoint

    async def get(self, principal: Principal, endpoint_id: uuid.UUID) -> EndpointOut:
        return _out(await self._get(principal, endpoint_id), await self.endpoints.now())

    async def page(
        self, principal: Principal, *, cursor: str | None, limit: int, active: bool | None
    ) -> Page[EndpointOut]:
        owner = Owner.of(principal)
        rows = await self.endpoints.page(
            after=_cursor_id(cursor),
            limit=limit + 1,
            active=active,
            owner_kind=None if owner.admin else owner.kind,
            owner_refs=None
            if owner.admin
            else (sorted(owner.agency_ids) if owner.kind == "agency" else [owner.ref or ""]),
        )
        now = await self.endpoints.now()
        items = [_out(e, now) for e in rows[:limit]]
        next_cursor = encode_cursor(str(rows[limit - 1].id)) if len(rows) > limit else None
        return Page[EndpointOut](items=items, next_cursor=next_cursor)

    async def update(
        self, principal: Principal, endpoint_id: uuid.UUID, payload: EndpointUpdate
    ) -> EndpointOut:
        owner = Owner.of(principal)
        endpoint = await self._live(principal, endpoint_id)
        url = str(payload.url) if payload.url is not None else None
        await self._validate(
            owner, url, payload.region_codes, payload.agency_ids, payload.event_types
        )
        if url is not None:
            endpoint.url = url
        if "description" in payload.model_fields_set:
            endpoint.description = payload.description or None
        if payload.region_codes is not None or payload.agency_ids is not None:
            regions = (
                payload.region_codes
                if payload.region_codes is not None
                else list(endpoint.region_codes)
            )
            agencies = (
                payload.agency_ids
                if payload.agency_ids is not None
                else list(endpoint.agency_ids or [])
            )
            endpoint.region_codes, endpoint.agency_ids = self._scope(owner, regions, agencies)
        if payload.event_types is not None:
            endpoint.event_types = _unique(payload.event_types)
        if payload.enabled is not None and payload.enabled != endpoint.active:
            endpoint.active = payload.enabled
            if payload.enabled:
                endpoint.disabled_reason = None
                endpoint.failing_since = None  # a fresh start: five more days
            else:
                endpoint.disabled_reason = "owner"
                await self.deliveries.cancel_pending(endpoint_id)
        await self.session.flush()
        log.info("webhook endpoint %s updated", endpoint_id)
        return _out(endpoint, await self.endpoints.now())

    async def deactivate(self, principal: Principal, endpoint_id: uuid.UUID) -> None:
        """Delete: stop deliveries for good. The row is kept (not deleted) so its delivery
        history stays; deleting twice is a no-op."""
        endpoint = await self._get(principal, endpoint_id)
        if endpoint.deleted_at is None:
            endpoint.active = False
            endpoint.disabled_reason = "deleted"
            endpoint.deleted_at = await self.endpoints.now()
            await self.deliveries.cancel_pending(endpoint_id)
            log.info("webhook endpoint %s deleted", endpoint_id)

    async def rotate_secret(self, principal: Principal, endpoint_id: uuid.UUID) -> SecretRotated:
        """A new secret; the current one keeps signing (beside it) for the grace period."""
        endpoint = await self._live(principal, endpoint_id)
        now = await self.endpoints.now()
        secret = new_secret()
        # Re-sealed under the first key: a rotation also moves secrets to the newest key.
        endpoint.previous_secret = seal(self.keys, unseal(self.keys, endpoint.secret))
        endpoint.previous_secret_until = now + timedelta(
            seconds=self.settings.webhook_secret_grace_seconds
        )
        endpoint.secret = seal(self.keys, secret)
        await self.session.flush()
        log.info("webhook endpoint %s: secret rotated", endpoint_id)
        return SecretRotated(
            secret=secret, previous_secret_expires_at=endpoint.previous_secret_until
        )

    async def ping(self, principal: Principal, endpoint_id: uuid.UUID) -> PingOut:
        """A `webhook.ping` event delivered to this endpoint only (signed and retried like any
        other delivery)."""
        endpoint = await self._live(principal, endpoint_id)
        if not endpoint.active:
            raise ProblemError("conflict", f"webhook endpoint {endpoint_id} is disabled")
        event = record_event(
            self.session,
            EventType.webhook_ping,
            actor=principal,
            data={"endpoint_id": str(endpoint_id), "message": "Aduan webhook test"},
        )
        await self.session.flush()
        delivery_id = await self.deliveries.add_one(endpoint_id, event.id)
        return PingOut(event_id=event.id, delivery_id=delivery_id)

    async def deliveries_page(
        self,
        principal: Principal,
        *,
        endpoint_id: uuid.UUID | None,
        cursor: str | None,
        limit: int,
        status: DeliveryStatus | None,
        event_type: str | None = None,
        since: datetime | None = None,
    ) -> Page[DeliveryOut]:
        owner = Owner.of(principal)
        if endpoint_id is not None:
            await self._get(principal, endpoint_id)
        rows = await self.deliveries.page(
            endpoint_id=endpoint_id,
            before=_cursor_id(cursor),
            limit=limit + 1,
            status=status.value if status else None,
            event_type=event_type,
            since=since,
            owner_kind=None if owner.admin else owner.kind,
            owner_refs=None
            if owner.admin
            else (sorted(owner.agency_ids) if owner.kind == "agency" else [owner.ref or ""]),
        )
        items = [_delivery_out(d, event_type) for d, event_type in rows[:limit]]
        next_cursor = encode_cursor(str(rows[limit - 1][0].id)) if len(rows) > limit else None
        return Page[DeliveryOut](items=items, next_cursor=next_cursor)

    async def _delivery(
        self, principal: Principal, delivery_id: uuid.UUID
    ) -> tuple[WebhookDelivery, str]:
        found = await self.deliveries.get(delivery_id)
        if found is None or not Owner.of(principal).sees(found[0].endpoint):
            raise not_visible("webhook delivery", delivery_id)
        return found

    async def delivery(self, principal: Principal, delivery_id: uuid.UUID) -> DeliveryDetail:
        delivery, event_type = await self._delivery(principal, delivery_id)
        attempts = await self.deliveries.attempts(delivery_id)
        return DeliveryDetail(
            **_delivery_out(delivery, event_type).model_dump(),
            attempts_made=[AttemptOut.model_validate(a) for a in attempts],
        )

    async def redeliver(self, principal: Principal, delivery_id: uuid.UUID) -> DeliveryOut:
        """The delivery starts over: pending now, attempts from 1 (earlier attempts stay
        listed), the same `webhook-id`."""
        delivery, event_type = await self._delivery(principal, delivery_id)
        if not delivery.endpoint.active:
            raise ProblemError("conflict", f"webhook endpoint {delivery.endpoint_id} is disabled")
        if delivery.status == DeliveryStatus.pending:
            raise ProblemError("conflict", f"webhook delivery {delivery_id} is still pending")
        await self.deliveries.restart([delivery_id])
        await self.session.refresh(delivery)
        return _delivery_out(delivery, event_type)

    async def recover(
        self, principal: Principal, endpoint_id: uuid.UUID, since: datetime
    ) -> RecoverOut:
        """Every failed (dead or cancelled) delivery of the endpoint since `since`, again."""
        endpoint = await self._live(principal, endpoint_id)
        if not endpoint.active:
            raise ProblemError("conflict", f"webhook endpoint {endpoint_id} is disabled")
        ids = await self.deliveries.failed_since(endpoint_id, since)
        await self.deliveries.restart(ids)
        log.info("webhook endpoint %s: %d deliveries recovered", endpoint_id, len(ids))
        return RecoverOut(redelivered=len(ids))


def _delivery_out(d: WebhookDelivery, event_type: str) -> DeliveryOut:
    return DeliveryOut(
        id=d.id,
        endpoint_id=d.endpoint_id,
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
        """Write finished attempts (in the order they finished), their attempt rows, the
        endpoints' circuits and health; returns the outcomes written (not those whose lease
        another dispatcher took over). A dead letter records `webhook.delivery_exhausted`; a
        410, or failing with no success for too long, disables the endpoint and records
        `webhook.endpoint_disabled` (published by the dispatcher after the commit)."""
        attempted = [o for o in outcomes if o.attempted]
        now, circuits, states = await self.repository.lock_circuits(
            {o.endpoint_id for o in attempted}
        )
        written = await self.repository.record_attempts(attempted)
        await self.repository.cancel([o.delivery_id for o in outcomes if not o.attempted])
        recorded = [o for o in attempted if o.delivery_id in written]
        await self.repository.add_attempts(recorded)
        if now is not None:
            await self.repository.save_circuits(self._circuits_after(circuits, recorded, now))
            await self._health(recorded, states, now)
        return recorded + [o for o in outcomes if not o.attempted]

    async def _health(
        self,
        recorded: Sequence[Outcome],
        states: dict[uuid.UUID, EndpointState],
        now: datetime,
    ) -> None:
        health: dict[uuid.UUID, tuple[bool, datetime]] = {}
        for o in recorded:
            at = o.attempted_at or now
            ok, seen = health.get(o.endpoint_id, (False, at))
            if o.ok:
                health[o.endpoint_id] = (True, max(at, seen) if ok else at)
            elif not ok:
                health[o.endpoint_id] = (False, min(at, seen))
        await self.repository.save_health(
            {i: h for i, h in health.items() if _health_changed(states[i], *h)}
        )
        for o in recorded:
            state = states[o.endpoint_id]
            if o.status == DeliveryStatus.dead and not o.gone:
                ok, at = health[o.endpoint_id]
                self._exhausted(o, state, None if ok else (state.failing_since or at))
        failing_for = timedelta(seconds=self.config.disable_after_failing_seconds)
        disabled: set[uuid.UUID] = set()
        for o in recorded:
            state = states[o.endpoint_id]
            if not state.active or o.endpoint_id in disabled:
                continue
            ok, at = health[o.endpoint_id]
            failing_since = None if ok else (state.failing_since or at)
            if o.gone:
                reason = "gone"
            elif failing_since is not None and now - failing_since >= failing_for:
                reason = "failing"
            else:
                continue
            disabled.add(o.endpoint_id)
            await self.repository.disable(o.endpoint_id, reason)
            log.warning("webhook endpoint %s disabled (%s)", o.endpoint_id, reason)
            record_event(
                self.repository.session,
                EventType.webhook_endpoint_disabled,
                actor=SYSTEM_NOTIFICATIONS,
                data=_owner(state)
                | {
                    "reason": reason,
                    "url": state.url,
                    "failing_since": failing_since.isoformat() if failing_since else None,
                },
            )

    def _exhausted(
        self, outcome: Outcome, state: EndpointState, failing_since: datetime | None
    ) -> None:
        # Deliveries of webhook.* events are not reported in turn: no chain of reports.
        if (outcome.event_type or "").startswith("webhook."):
            return
        record_event(
            self.repository.session,
            EventType.webhook_delivery_exhausted,
            actor=SYSTEM_NOTIFICATIONS,
            data=_owner(state)
            | {
                "delivery_id": str(outcome.delivery_id),
                "event_id": str(outcome.event_id),
                "event_type": outcome.event_type,
                "attempts": outcome.attempts_before + 1,
                "last_status_code": outcome.status_code,
                "last_error": outcome.error,
                "url": state.url,
                "failing_since": failing_since.isoformat() if failing_since else None,
            },
        )

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


SYSTEM_NOTIFICATIONS = system("notifications")
# A healthy endpoint's last success is written at most this often: rewriting its row after
# every batch of attempts made each record step an UPDATE of every endpoint it touched.
LAST_SUCCESS_RESOLUTION = timedelta(seconds=60)


def _health_changed(state: EndpointState, ok: bool, at: datetime) -> bool:
    """Whether a batch's health (a success at `at`, or failing since `at`) must be written."""
    if not ok:
        return state.failing_since is None  # an endpoint failing already keeps its first failure
    if state.failing_since is not None or state.last_success_at is None:
        return True
    return at - state.last_success_at >= LAST_SUCCESS_RESOLUTION


def _owner(state: EndpointState) -> dict[str, Any]:
    return {
        "endpoint_id": str(state.id),
        "owner_kind": state.owner_kind,
        "owner_ref": state.owner_ref,
    }
