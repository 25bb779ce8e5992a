"""Intake operations. Never commits: the request edge does."""

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from uuid6 import uuid7

from intake.labels import label_of
from intake.repository import (
    ComplaintRepository,
    IdempotencyRepository,
    ListFilter,
    ReferenceRepository,
)
from intake.schemas import (
    INCIDENT_TIMEZONE,
    AssignedAgency,
    CategoryOut,
    ComplaintCreate,
    ComplaintListItem,
    ComplaintOut,
    ComplaintSummary,
    ComplaintTimeline,
    PossibleDuplicate,
    ReporterOut,
    ReportType,
    TimelineEntry,
)
from services.complaints import complaint_data
from services.domain import tracking
from services.domain.channels import Channel
from services.domain.lifecycle import STATUS_LABELS, Status
from services.domain.regions import regency_code
from services.events.catalogue import EventType
from services.events.outbox import record_event
from services.models import Complaint, Event, IdempotencyRecord
from services.pagination import Page, decode_cursor, encode_cursor
from services.policy import not_visible
from services.principal import Principal, Role
from services.privacy import (
    Audience,
    ComplaintFacts,
    audience_for,
    hash_reporter_token,
    redact,
    shows_content,
)
from services.problems import ProblemError
from services.settings import Settings

# A retry comes within minutes; a day covers a phone that was offline overnight.
IDEMPOTENCY_TTL = timedelta(hours=24)
# New ids are drawn until one is free; at 32⁸ ids a second collision in a row is unheard of.
TRACKING_ID_ATTEMPTS = 5
# The generator of new tracking ids (tests seed one to force a collision).
TRACKING_IDS = tracking.TrackingIds()
UNCATEGORISED = "lainnya"  # what routing classifies from the text
DUPLICATE_WINDOW = timedelta(days=30)
CLOSED_STATUSES = frozenset({Status.resolved, Status.archived, Status.duplicate})
OPEN_STATUSES = frozenset(s.value for s in Status if s not in CLOSED_STATUSES)
# Channels a caller may not claim: set by the regional systems' keys and by /open311/v2.
ASSIGNED_CHANNELS = frozenset({Channel.regional_system, Channel.open311})


@dataclass(frozen=True)
class Submitted:
    body: dict[str, Any]
    status_code: int  # 201, or 200 for a regional system's repeated external_ref
    replayed: bool  # an Idempotency-Key replay


def new_reporter_token() -> str:
    return "rpt_" + secrets.token_urlsafe(32)


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
        label=label_of(event.type),
        occurred_at=event.occurred_at,
        status=Status(status) if status else None,
        status_label=STATUS_LABELS[Status(status)] if status else None,
        actor=event.actor_kind,
        actor_role=event.actor_role,
        reason=event.data.get("reason"),
    )


class ComplaintService:
    def __init__(self, session: AsyncSession, settings: Settings) -> None:
        self.session = session
        self.settings = settings
        self.complaints = ComplaintRepository(session)
        self.reference = ReferenceRepository(session)
        self.idempotency = IdempotencyRepository(session)

    async def _validate(self, payload: ComplaintCreate) -> str | None:
        """The region's name, once everything the payload names is known to exist."""
        errors: list[tuple[str, str]] = []
        region_name = await self.reference.region_name(payload.region_code)
        if payload.region_code is not None and region_name is None:
            errors.append(("/region_code", "unknown_region"))
        if payload.category is not None and not await self.reference.category_exists(
            payload.category
        ):
            errors.append(("/category", "unknown_category"))
        if payload.target_agency_id is not None and not await self.reference.agency_exists(
            payload.target_agency_id
        ):
            errors.append(("/target_agency_id", "unknown_agency"))
        if payload.latitude is not None and payload.longitude is None:
            errors.append(("/longitude", "coordinates_incomplete"))
        if payload.longitude is not None and payload.latitude is None:
            errors.append(("/latitude", "coordinates_incomplete"))
        if errors:
            raise ProblemError("validation_failed", errors=errors)
        return region_name

    @staticmethod
    def _channel(principal: Principal, payload: ComplaintCreate, fixed: Channel | None) -> Channel:
        """The channel: a regional system's key is always `regional_system`, the Open311
        endpoint passes `open311` (`fixed`), other callers say mobile, web or sms."""
        errors: list[tuple[str, str]] = []
        regional = principal.role is Role.regional_system
        if not regional:
            errors.extend(
                (f"/{name}", "regional_systems_only")
                for name in ("external_ref", "external_tracking_ref")
                if getattr(payload, name) is not None
            )
        if fixed is not None:
            channel = fixed
        elif regional:
            channel = Channel.regional_system
            if payload.channel not in {None, Channel.regional_system}:
                errors.append(("/channel", "channel_not_allowed"))
        else:
            channel = payload.channel or Channel.web
            if channel in ASSIGNED_CHANNELS:
                errors.append(("/channel", "channel_not_allowed"))
        if errors:
            raise ProblemError("validation_failed", errors=errors)
        return channel

    async def submit(
        self,
        principal: Principal,
        payload: ComplaintCreate,
        idempotency_key: str | None,
        *,
        channel: Channel | None = None,
    ) -> Submitted:
        """Store a complaint and its `complaint.submitted` event, or answer the one an
        Idempotency-Key or a regional system's external_ref already filed."""
        if principal.role is Role.regional_system and (
            payload.region_code is None or not principal.covers_region(payload.region_code)
        ):
            raise ProblemError(
                "forbidden",
                f"this key files complaints only in {', '.join(principal.region_codes)}",
            )
        channel = self._channel(principal, payload, channel)
        fingerprint = request_fingerprint(payload)
        if idempotency_key:
            # Concurrent requests with one key queue here; each finds the first one's record
            # once it committed, and replays it.
            await self.idempotency.lock(principal.key, idempotency_key)
            previous = await self.idempotency.get(principal.key, idempotency_key)
            if previous is not None and previous.created_at < datetime.now(UTC) - IDEMPOTENCY_TTL:
                await self.idempotency.delete(previous)
                previous = None
            if previous is not None:
                if previous.request_hash != fingerprint:
                    raise ProblemError("idempotency_mismatch")
                return Submitted(await self._replay(previous), 201, True)
        if payload.external_ref is not None:
            await self.complaints.lock_external_ref(principal.key, payload.external_ref)
            known = await self.complaints.by_external_ref(principal.key, payload.external_ref)
            if known is not None:
                body = await self._as_filed(known, reporter_token=None, duplicates=[])
                return Submitted(body, 200, False)

        region_name = await self._validate(payload)
        reporter = payload.reporter
        reporter_token = new_reporter_token()
        now = datetime.now(UTC)
        complaint = Complaint(
            id=uuid.UUID(str(uuid7())),
            tracking_id=TRACKING_IDS.new(),
            report_type=payload.report_type.value,
            title=payload.title,
            description=payload.description,
            category_code=payload.category or UNCATEGORISED,
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
            submitted_by=principal.key,
            status=Status.submitted.value,
            escalation_level=0,
            target_agency_id=payload.target_agency_id,
            channel=channel.value,
            external_ref=payload.external_ref,
            external_tracking_ref=payload.external_tracking_ref,
            created_at=now,
            updated_at=now,
            assignments=[],
        )
        # Before the insert: the new complaint must not be its own duplicate.
        duplicates = await self._possible_duplicates(complaint)
        await self.complaints.insert_unique(complaint, TRACKING_IDS.new, TRACKING_ID_ATTEMPTS)
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
        body["possible_duplicates"] = [d.model_dump(mode="json") for d in duplicates]
        if idempotency_key:
            # What a replay needs, not the answer itself: no personal data is kept here.
            replay = {
                "complaint_id": str(complaint.id),
                "reporter_token": reporter_token,
                "possible_duplicates": [
                    {"tracking_id": d.tracking_id, "status": d.status.value} for d in duplicates
                ],
            }
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
            except IntegrityError as exc:  # pragma: no cover - the lock above serialises keys
                raise ProblemError(
                    "conflict", "another request with this Idempotency-Key is in progress"
                ) from exc
        else:
            await self.complaints.flush()
        return Submitted(body, 201, False)

    async def _possible_duplicates(self, complaint: Complaint) -> list[PossibleDuplicate]:
        """Open complaints like this one nearby: same kabupaten/kota, same category, filed in
        the last 30 days (the most recent ADUAN_DUPLICATE_HINT_CANDIDATES of them sharing a
        word), text ranked above the threshold; never confidential ones."""
        if self.settings.duplicate_hint_limit == 0 or complaint.region_code is None:
            return []
        found = await self.complaints.similar_open(
            text=f"{complaint.title}\n{complaint.description}",
            region_prefix=regency_code(complaint.region_code) or complaint.region_code,
            category=complaint.category_code,
            since=datetime.now(UTC) - DUPLICATE_WINDOW,
            open_statuses=OPEN_STATUSES,
            threshold=self.settings.duplicate_hint_threshold,
            limit=self.settings.duplicate_hint_limit,
            candidates=self.settings.duplicate_hint_candidates,
        )
        return [
            PossibleDuplicate(
                tracking_id=d.tracking_id,
                title=d.title,
                status=Status(d.status),
                status_label=STATUS_LABELS[Status(d.status)],
            )
            for d in found
        ]

    async def _replay(self, record: IdempotencyRecord) -> dict[str, Any]:
        complaint = await self.complaints.by_id(uuid.UUID(record.response_body["complaint_id"]))
        if complaint is None:  # pragma: no cover - complaints are never deleted
            raise ProblemError("not_found", "the complaint of this Idempotency-Key is gone")
        kept = record.response_body.get("possible_duplicates", [])
        titles = await self.complaints.public_titles([d["tracking_id"] for d in kept])
        duplicates = [
            PossibleDuplicate(
                tracking_id=d["tracking_id"],
                title=titles[d["tracking_id"]],
                status=Status(d["status"]),
                status_label=STATUS_LABELS[Status(d["status"])],
            )
            for d in kept
            if d["tracking_id"] in titles
        ]
        return await self._as_filed(complaint, record.response_body["reporter_token"], duplicates)

    async def _as_filed(
        self,
        complaint: Complaint,
        reporter_token: str | None,
        duplicates: list[PossibleDuplicate],
    ) -> dict[str, Any]:
        """The create answer again, as it was given: the complaint as filed (its
        `complaint.submitted` event), not as routing has changed it since."""
        region_name = await self.reference.region_name(complaint.region_code)
        events = await self.complaints.timeline(complaint.id)
        submitted = [e for e in events if e.type == EventType.complaint_submitted][:1]
        body = complaint_view(
            complaint, region_name or complaint.region_code, submitted, Audience.reporter
        )
        filed = submitted[0].data if submitted else {}
        status = Status(filed.get("status", Status.submitted))
        body |= {
            "status": status.value,
            "status_label": STATUS_LABELS[status],
            "category": filed.get("category", complaint.category_code),
            "escalation_level": filed.get("escalation_level", 0),
            "agencies": [],
            "updated_at": body["created_at"],
            "reporter_token": reporter_token,
            "possible_duplicates": [d.model_dump(mode="json") for d in duplicates],
        }
        return body

    async def _find(self, raw_tracking_id: str) -> Complaint:
        """The complaint of a tracking id as a person typed it; a mistyped one (its check
        character does not match) is a 404 that says so, never a lookup."""
        parsed = tracking.parse(raw_tracking_id)
        if not parsed.valid:
            raise ProblemError(
                "not_found", f"no complaint with tracking id {parsed.tracking_id}: {parsed.reason}"
            )
        complaint = await self.complaints.by_tracking_id(parsed.tracking_id)
        if complaint is None:
            raise not_visible("complaint with tracking id", parsed.tracking_id)
        return complaint

    async def get(
        self, principal: Principal, tracking_id: str, reporter_token: str | None
    ) -> dict[str, Any]:
        complaint = await self._find(tracking_id)
        audience = audience_for(principal, facts(complaint), reporter_token)
        region_name = await self.reference.region_name(complaint.region_code)
        events = await self.complaints.timeline(complaint.id)
        return complaint_view(complaint, region_name or complaint.region_code, events, audience)

    async def timeline(
        self, principal: Principal, tracking_id: str, reporter_token: str | None
    ) -> ComplaintTimeline:
        """The complaint's events, oldest first, labelled in Indonesian and English. Reasons
        are the complaint's content: withheld from whoever may not see a confidential one."""
        complaint = await self._find(tracking_id)
        audience = audience_for(principal, facts(complaint), reporter_token)
        entries, withheld = visible_timeline(
            await self.complaints.timeline(complaint.id), audience, complaint.confidential
        )
        status = Status(complaint.status)
        return ComplaintTimeline(
            tracking_id=complaint.tracking_id,
            status=status,
            status_label=STATUS_LABELS[status],
            events=entries,
            redacted=["reason"] if withheld else [],
        )

    async def list_public(
        self, where: ListFilter, cursor: str | None, limit: int
    ) -> Page[ComplaintListItem]:
        """The public listing: never a confidential complaint, never who reported; each line
        passes the public audience's privacy view all the same."""
        after = _decode_list_cursor(cursor, searching=bool(where.q))
        rows = await self.complaints.public_page(where, after, limit + 1)
        items = []
        for complaint, rank in rows[:limit]:
            status = Status(complaint.status)
            line = ComplaintListItem(
                tracking_id=complaint.tracking_id,
                status=status,
                status_label=STATUS_LABELS[status],
                report_type=ReportType(complaint.report_type),
                title=complaint.title,
                description=complaint.description,
                category=complaint.category_code,
                region_code=complaint.region_code,
                region_name=await self.reference.region_name(complaint.region_code)
                or complaint.region_code,
                channel=Channel(complaint.channel),
                occurred_on=complaint.occurred_on,
                rank=rank,
                created_at=complaint.created_at,
                updated_at=complaint.updated_at,
            ).model_dump()
            view = redact(
                line,
                Audience.public,
                anonymous=complaint.anonymous,
                confidential=complaint.confidential,
            )
            items.append(ComplaintListItem.model_validate(view))
        next_cursor = None
        if len(rows) > limit:
            last, rank = rows[limit - 1]
            next_cursor = encode_cursor(f"{'' if rank is None else repr(rank)}|{last.id}")
        return Page(items=items, next_cursor=next_cursor)

    async def mine(
        self, principal: Principal, cursor: str | None, limit: int
    ) -> Page[ComplaintSummary]:
        """The complaints a citizen filed with their account, newest first."""
        assert principal.subject is not None  # the policy admits citizens only
        before_id = before_id_of(cursor)
        rows = await self.complaints.by_reporter_account(
            uuid.UUID(principal.subject), before_id, limit + 1
        )
        return summary_page(rows, limit)

    async def categories(self, language: str) -> list[CategoryOut]:
        return [
            CategoryOut(code=c.code, name=c.name_en if language == "en" else c.name_id)
            for c in await self.reference.categories()
        ]


def _decode_list_cursor(
    cursor: str | None, *, searching: bool
) -> tuple[float | None, uuid.UUID] | None:
    """`rank|id` of the previous page's last line (rank empty when not searching)."""
    key = decode_cursor(cursor)
    if key is None:
        return None
    try:
        rank_text, _, id_text = key.partition("|")
        rank = float(rank_text) if rank_text else None
        if searching != (rank is not None):
            raise ValueError("a cursor of another query")
        return rank, uuid.UUID(id_text)
    except ValueError as exc:
        raise ProblemError("validation_failed", errors=[("/cursor", "invalid_cursor")]) from exc


def filed_between(
    filed_from: date | None, filed_to: date | None
) -> tuple[datetime | None, datetime | None]:
    """Whole days in Asia/Jakarta (the `to` day included) as [start, end) instants."""
    start = datetime.combine(filed_from, time(), INCIDENT_TIMEZONE) if filed_from else None
    end = (
        datetime.combine(filed_to + timedelta(days=1), time(), INCIDENT_TIMEZONE)
        if filed_to
        else None
    )
    return start, end


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


def before_id_of(cursor: str | None) -> uuid.UUID | None:
    """The id a newest-first page of complaints continues below (its cursor), or None."""
    after = decode_cursor(cursor)
    try:
        return uuid.UUID(after) if after else None
    except ValueError as exc:
        raise ProblemError("validation_failed", errors=[("/cursor", "invalid_cursor")]) from exc


def summary_page(rows: list[Complaint], limit: int) -> Page[ComplaintSummary]:
    """A newest-first page of complaints (`limit` + 1 rows read: one more means a next page)."""
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


def complaint_view(
    complaint: Complaint, region_name: str | None, events: list[Event], audience: Audience
) -> dict[str, Any]:
    """The complaint as `audience` may see it (JSON-ready)."""
    has_reporter = any(
        (complaint.reporter_name, complaint.reporter_email, complaint.reporter_phone)
    )
    timeline, reasons_withheld = visible_timeline(events, audience, complaint.confidential)
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
        channel=Channel(complaint.channel),
        external_tracking_ref=complaint.external_tracking_ref,
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
        timeline=timeline,
        created_at=complaint.created_at,
        updated_at=complaint.updated_at,
    ).model_dump(mode="json")
    shown = redact(
        view, audience, anonymous=complaint.anonymous, confidential=complaint.confidential
    )
    if reasons_withheld:
        shown["redacted"].append("timeline.reason")
    return shown


def visible_timeline(
    events: list[Event], audience: Audience, confidential: bool
) -> tuple[list[TimelineEntry], bool]:
    """The timeline `audience` may see, and whether reasons were withheld: the reasons given
    are the complaint's content, so a confidential complaint's are for those who see it."""
    entries = [timeline_entry(e) for e in events]
    if shows_content(audience, confidential):
        return entries, False
    withheld = any(e.reason for e in entries)
    return [e.model_copy(update={"reason": None}) for e in entries], withheld
