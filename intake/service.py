"""Intake operations. Never commits: the request edge does."""

import hashlib
import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from uuid6 import uuid7

from intake.repository import ComplaintRepository, IdempotencyRepository, ReferenceRepository
from intake.schemas import (
    AssignedAgency,
    CategoryOut,
    ComplaintCreate,
    ComplaintOut,
    ComplaintSummary,
    ReporterOut,
    ReportType,
    TimelineEntry,
)
from services.complaints import complaint_data
from services.domain.lifecycle import STATUS_LABELS, Status
from services.events.catalogue import EventType
from services.events.outbox import record_event
from services.models import Complaint, Event, IdempotencyRecord
from services.pagination import Page, decode_cursor, encode_cursor
from services.policy import not_visible
from services.principal import Principal, Role
from services.privacy import Audience, ComplaintFacts, audience_for, hash_reporter_token, redact
from services.problems import ProblemError

# Crockford base32 without I, L, O, U: easy to read out over the phone.
TRACKING_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


# A retry comes within minutes; a day covers a phone that was offline overnight.
IDEMPOTENCY_TTL = timedelta(hours=24)


def new_reporter_token() -> str:
    return "rpt_" + secrets.token_urlsafe(32)


def new_tracking_id() -> str:
    return "ADN-" + "".join(secrets.choice(TRACKING_ALPHABET) for _ in range(8))


def _micro(value: Decimal | None) -> Decimal | None:
    """As the Numeric(9, 6) column stores it, so the 201 equals a later read."""
    return None if value is None else value.quantize(Decimal("0.000001"))


def request_fingerprint(payload: ComplaintCreate) -> str:
    canonical = json.dumps(payload.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def timeline_entry(event: Event) -> TimelineEntry:
    status = event.data.get("status")
    return TimelineEntry(
        id=event.id,
        type=event.type,
        occurred_at=event.occurred_at,
        status=Status(status) if status else None,
        status_label=STATUS_LABELS[Status(status)] if status else None,
        actor=event.actor_kind,
        actor_role=event.actor_role,
        reason=event.data.get("reason"),
    )


class ComplaintService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.complaints = ComplaintRepository(session)
        self.reference = ReferenceRepository(session)
        self.idempotency = IdempotencyRepository(session)

    async def _validate(self, payload: ComplaintCreate) -> str | None:
        """The region's name (None without a region), once the region and category are known
        to exist."""
        errors: list[tuple[str, str]] = []
        region_name = await self._region_name(payload.region_code)
        if payload.region_code is not None and region_name is None:
            errors.append(("/region_code", "unknown_region"))
        if not await self.reference.category_exists(payload.category):
            errors.append(("/category", "unknown_category"))
        if errors:
            raise ProblemError("validation_failed", errors=errors)
        return region_name

    async def _region_name(self, code: str | None) -> str | None:
        return None if code is None else await self.reference.region_name(code)

    async def submit(
        self,
        principal: Principal,
        payload: ComplaintCreate,
        idempotency_key: str | None,
        *,
        channel: str | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Store a complaint and its `complaint.submitted` event. Returns (body, replayed).
        `channel`: a channel other than the caller's role (`open311`), recorded until
        complaints get a channel column as the first part of `submitted_by`."""
        if principal.role is Role.regional_system and (
            payload.region_code is None or not principal.covers_region(payload.region_code)
        ):
            raise ProblemError(
                "forbidden",
                f"this key files complaints only in {', '.join(principal.region_codes)}",
            )
        fingerprint = request_fingerprint(payload)
        if idempotency_key:
            await self.idempotency.lock(principal.key, idempotency_key)
            previous = await self.idempotency.get(principal.key, idempotency_key)
            if previous is not None and previous.created_at < datetime.now(UTC) - IDEMPOTENCY_TTL:
                await self.idempotency.delete(previous)
                previous = None
            if previous is not None:
                if previous.request_hash != fingerprint:
                    raise ProblemError("idempotency_mismatch")
                return await self._replay(previous), True

        region_name = await self._validate(payload)
        reporter = payload.reporter
        reporter_token = new_reporter_token()
        now = datetime.now(UTC)
        complaint = Complaint(
            id=uuid.UUID(str(uuid7())),
            tracking_id=new_tracking_id(),
            report_type=payload.report_type.value,
            title=payload.title,
            description=payload.description,
            category_code=payload.category,
            region_code=payload.region_code,
            occurred_on=payload.occurred_on,
            address=payload.address,
            latitude=_micro(payload.latitude),
            longitude=_micro(payload.longitude),
            reporter_name=reporter.name if reporter else None,
            reporter_email=str(reporter.email) if reporter and reporter.email else None,
            reporter_phone=reporter.phone if reporter else None,
            reporter_account_id=(
                uuid.UUID(principal.subject)
                if principal.role is Role.citizen and principal.subject
                else None
            ),
            reporter_token_hash=hash_reporter_token(reporter_token),
            anonymous=payload.anonymous,
            confidential=payload.confidential,
            submitted_by=principal.key if channel is None else f"{channel}:{principal.key}",
            status=Status.submitted.value,
            escalation_level=0,
            created_at=now,
            updated_at=now,
            assignments=[],
        )
        self.complaints.add(complaint)
        event = record_event(
            self.session,
            EventType.complaint_submitted,
            actor=principal,
            complaint_id=complaint.id,
            data=complaint_data(complaint, agencies=[]),
        )
        # The answer is built from what was just written, not read back: the reporter's view.
        body = complaint_view(complaint, region_name, [event], Audience.reporter)
        body["reporter_token"] = reporter_token
        if idempotency_key:
            # What a replay needs, not the answer itself: no personal data is kept here.
            replay = {"complaint_id": str(complaint.id), "reporter_token": reporter_token}
            try:
                await self.idempotency.add(
                    IdempotencyRecord(
                        principal=principal.key,
                        key=idempotency_key,
                        request_hash=fingerprint,
                        status_code=201,
                        response_body=replay,
                    )
                )
            except IntegrityError as exc:
                raise ProblemError(
                    "conflict", "another request with this Idempotency-Key is in progress"
                ) from exc
        else:
            await self.complaints.flush()
        return body, False

    async def _replay(self, record: IdempotencyRecord) -> dict[str, Any]:
        complaint = await self.complaints.by_id(uuid.UUID(record.response_body["complaint_id"]))
        if complaint is None:  # pragma: no cover - complaints are never deleted
            raise ProblemError("not_found", "the complaint of this Idempotency-Key is gone")
        region_name = await self._region_name(complaint.region_code)
        events = await self.complaints.timeline(complaint.id)
        body = complaint_view(
            complaint, region_name or complaint.region_code, events, Audience.reporter
        )
        body["reporter_token"] = record.response_body["reporter_token"]
        return body

    async def get(
        self, principal: Principal, tracking_id: str, reporter_token: str | None
    ) -> dict[str, Any]:
        complaint = await self.complaints.by_tracking_id(tracking_id)
        if complaint is None:
            raise not_visible("complaint with tracking id", tracking_id)
        audience = audience_for(principal, facts(complaint), reporter_token)
        region_name = await self._region_name(complaint.region_code)
        events = await self.complaints.timeline(complaint.id)
        return complaint_view(complaint, region_name or complaint.region_code, events, audience)

    async def mine(
        self, principal: Principal, cursor: str | None, limit: int
    ) -> Page[ComplaintSummary]:
        """The complaints a citizen filed with their account, newest first."""
        assert principal.subject is not None  # the policy admits citizens only
        after = decode_cursor(cursor)
        try:
            before_id = uuid.UUID(after) if after else None
        except ValueError as exc:
            raise ProblemError("validation_failed", errors=[("/cursor", "invalid_cursor")]) from exc
        rows = await self.complaints.by_reporter_account(
            uuid.UUID(principal.subject), before_id, limit + 1
        )
        items = [
            ComplaintSummary(
                tracking_id=c.tracking_id,
                status=Status(c.status),
                status_label=STATUS_LABELS[Status(c.status)],
                report_type=ReportType(c.report_type),
                title=c.title,
                category=c.category_code,
                region_code=c.region_code,
                created_at=c.created_at,
                updated_at=c.updated_at,
            )
            for c in rows[:limit]
        ]
        next_cursor = encode_cursor(str(rows[limit - 1].id)) if len(rows) > limit else None
        return Page(items=items, next_cursor=next_cursor)

    async def categories(self, language: str) -> list[CategoryOut]:
        return [
            CategoryOut(code=c.code, name=c.name_en if language == "en" else c.name_id)
            for c in await self.reference.categories()
        ]


async def purge_idempotency_records(session: AsyncSession) -> int:
    """Forget Idempotency-Keys older than IDEMPOTENCY_TTL (run by the housekeeping chore)."""
    return await IdempotencyRepository(session).purge(datetime.now(UTC) - IDEMPOTENCY_TTL)


def facts(complaint: Complaint) -> ComplaintFacts:
    return ComplaintFacts(
        anonymous=complaint.anonymous,
        confidential=complaint.confidential,
        region_code=complaint.region_code,
        agency_ids=[a.agency_id for a in complaint.assignments if a.active],
        reporter_account_id=complaint.reporter_account_id,
        reporter_token_hash=complaint.reporter_token_hash,
    )


def complaint_view(
    complaint: Complaint, region_name: str | None, events: list[Event], audience: Audience
) -> dict[str, Any]:
    """The complaint as `audience` may see it (JSON-ready)."""
    has_reporter = any(
        (complaint.reporter_name, complaint.reporter_email, complaint.reporter_phone)
    )
    view = ComplaintOut(
        tracking_id=complaint.tracking_id,
        status=Status(complaint.status),
        status_label=STATUS_LABELS[Status(complaint.status)],
        report_type=ReportType(complaint.report_type),
        title=complaint.title,
        description=complaint.description,
        category=complaint.category_code,
        region_code=complaint.region_code,
        region_name=region_name,
        occurred_on=complaint.occurred_on,
        address=complaint.address,
        latitude=complaint.latitude,
        longitude=complaint.longitude,
        anonymous=complaint.anonymous,
        confidential=complaint.confidential,
        escalation_level=complaint.escalation_level,
        reporter=ReporterOut(
            name=complaint.reporter_name,
            email=complaint.reporter_email,
            phone=complaint.reporter_phone,
        )
        if has_reporter
        else None,
        agencies=[
            AssignedAgency(
                id=a.agency.id,
                code=a.agency.code,
                name=a.agency.name,
                kind=a.agency.kind,
                region_code=a.agency.region_code,
            )
            for a in complaint.assignments
            if a.active
        ],
        timeline=[timeline_entry(e) for e in events],
        created_at=complaint.created_at,
        updated_at=complaint.updated_at,
    ).model_dump(mode="json")
    return redact(
        view, audience, anonymous=complaint.anonymous, confidential=complaint.confidential
    )
