"""Verification: the worker's automatic path and the queue's actions. Never commits.

`on_submitted` (the routing worker, per `complaint.submitted`): classify an uncategorised
complaint (`lainnya`), apply the policy (routing/verification/policy.py), then either verify it
and disposition it (routing/disposition/engine.py) or leave it `submitted` for a person with
`complaint.verification_required` naming the reasons. Every read it makes is cached per process
or prefetched for the batch; its writes go out with the batch's commit.
"""

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from routing.disposition.engine import Decision, DispositionEngine
from routing.disposition.repository import CategoryRow
from routing.verification.classifier import Classification, KeywordRules
from routing.verification.policy import Verdict, evaluate, filing_role, flag_list, reason_codes
from routing.verification.repository import QueueFilter, VerificationRepository
from routing.verification.schemas import (
    ActionOut,
    ArchiveIn,
    ArchiveReason,
    HoldIn,
    QueueItem,
    QueueStatus,
    RegionIn,
    RequestInfoIn,
    ResumeIn,
    VerifyIn,
)
from services.complaints import complaint_data, transition
from services.domain.lifecycle import STATUS_LABELS, IllegalTransition, Status
from services.domain.regions import covers
from services.events.catalogue import EventType
from services.events.outbox import record_event
from services.logging import get_logger
from services.models import Complaint, Event
from services.pagination import Page, decode_cursor, encode_cursor
from services.policy import not_visible
from services.principal import SYSTEM_ROUTING, Principal, Role
from services.privacy import ComplaintFacts, audience_for, redact
from services.problems import ProblemError
from services.settings import Settings, get_settings

log = get_logger(__name__)
UNCATEGORISED = "lainnya"

# Keyword rules are built from the cached categories; rebuilt when that cache is refreshed.
_KEYWORDS: dict[str, tuple[int, KeywordRules]] = {}


def keyword_rules(categories: dict[str, CategoryRow]) -> KeywordRules:
    cached = _KEYWORDS.get("rules")
    if cached is not None and cached[0] == id(categories):
        return cached[1]
    rules = KeywordRules.build(
        (c.code, c.keywords) for c in categories.values() if c.active and c.code != UNCATEGORISED
    )
    _KEYWORDS["rules"] = (id(categories), rules)
    return rules


@dataclass(frozen=True)
class Assessment:
    verdict: Verdict
    classification: Classification | None  # for an uncategorised complaint
    classified: bool  # its category was found with enough confidence


class VerificationService:
    def __init__(self, session: AsyncSession, settings: Settings | None = None) -> None:
        self.session = session
        self.settings = settings or get_settings()
        self.complaints = VerificationRepository(session)
        self.engine = DispositionEngine(session)

    # The worker's path

    async def on_submitted(self, complaint_id: uuid.UUID) -> None:
        complaint = await self.complaints.get_bare(complaint_id)
        if complaint is None or complaint.status != Status.submitted:
            log.info("complaint %s is no longer awaiting verification; skipped", complaint_id)
            return
        await self.route_automatically(complaint)
        # No flush here: the writes of a whole batch go out together at the commit.

    async def route_automatically(self, complaint: Complaint) -> Decision | None:
        """Verify and disposition a submitted complaint when every check passes (the decision),
        else leave it in the queue with `complaint.verification_required` naming why (None)."""
        assessment = await self.assess(complaint)
        classification = assessment.classification
        if classification is not None and assessment.classified:
            self._reclassify(complaint, classification, SYSTEM_ROUTING, method="keywords")
        verdict = assessment.verdict
        if not verdict.automatic:
            details: dict[str, Any] = {
                "reasons": reason_codes(verdict.reasons),
                "flagged_words": list(verdict.flagged),
            }
            if classification is not None:
                details["classification"] = classification.as_data()
            record_event(
                self.session,
                EventType.complaint_verification_required,
                actor=SYSTEM_ROUTING,
                complaint_id=complaint.id,
                data=_data(complaint, "verifikasi manual: " + ", ".join(details["reasons"]))
                | details,
            )
            return None
        transition(
            self.session,
            complaint,
            Status.verified,
            EventType.complaint_verified,
            actor=SYSTEM_ROUTING,
            reason="verifikasi otomatis",
            agencies=[],
        )
        decision = await self.engine.choose(complaint)
        await self.disposition(complaint, decision, SYSTEM_ROUTING)
        return decision

    async def assess(self, complaint: Complaint) -> Assessment:
        categories = await self.engine.repo.categories()
        classification = None
        classified = True
        category = categories.get(complaint.category_code)
        if complaint.category_code == UNCATEGORISED:
            classification = keyword_rules(categories).classify(
                f"{complaint.title}\n{complaint.description}"
            )
            classified = (
                classification.category is not None
                and classification.confidence >= self.settings.classification_threshold
            )
            if classified and classification.category is not None:
                category = categories.get(classification.category, category)
        verdict = evaluate(
            title=complaint.title,
            description=complaint.description,
            region_code=complaint.region_code,
            category_verification=category.verification if category else "manual",
            channel=complaint.channel,
            role=filing_role(complaint.submitted_by),
            manual_channels=self.settings.verification_manual_channels,
            flags=flag_list(tuple(self.settings.verification_flagged_words)),
            classified=classified,
        )
        return Assessment(verdict, classification, classification is not None and classified)

    def _reclassify(
        self,
        complaint: Complaint,
        classification: Classification,
        actor: Principal,
        *,
        method: str,
    ) -> None:
        previous = complaint.category_code
        assert classification.category is not None
        complaint.category_code = classification.category
        record_event(
            self.session,
            EventType.complaint_classified,
            actor=actor,
            complaint_id=complaint.id,
            data=_data(
                complaint,
                "klasifikasi otomatis dari teks" if method == "keywords" else "kategori dikoreksi",
            )
            | {
                "previous_category": previous,
                "method": method,
                "confidence": classification.confidence,
                "matched_words": list(classification.matched),
            },
        )

    async def disposition(
        self, complaint: Complaint, decision: Decision, actor: Principal
    ) -> Event:
        """A verified complaint to the chosen agency: a handler assignment and the event naming
        the rule (or the target agency) that chose it."""
        self.engine.repo.assign(complaint, decision.agency.id)
        event = transition(
            self.session,
            complaint,
            Status.dispositioned,
            EventType.complaint_dispositioned,
            actor=actor,
            reason=decision.reason,
            agencies=[decision.agency.ref],
        )
        event.data = event.data | {"disposition": decision.candidates[0].as_data()}
        return event

    # The queue

    async def _scope_region(self, principal: Principal) -> str | None:
        """None for admins (every region); a coordinator's agency's region. A coordinator of an
        agency without a region (a ministry) has no verification queue."""
        if principal.role is Role.admin:
            return None
        agency = await self.engine.repo.agency(principal.agency_id) if principal.agency_id else None
        if agency is None or agency.region_code is None:
            return "-"  # matches no region code
        return agency.region_code

    async def _visible(self, principal: Principal, tracking_id: str) -> Complaint:
        complaint = await self.complaints.by_tracking_id(tracking_id)
        scope = await self._scope_region(principal)
        # A complaint without a region (Open311) lies in no coordinator's region: admins only.
        if complaint is None or (
            scope is not None
            and (complaint.region_code is None or not covers(scope, complaint.region_code))
        ):
            raise not_visible("complaint", tracking_id)
        return complaint

    async def queue(
        self,
        principal: Principal,
        *,
        status: QueueStatus,
        reason: str | None,
        category: str | None,
        region_prefix: str | None,
        since: date | None,
        until: date | None,
        cursor: str | None,
        limit: int,
    ) -> Page[QueueItem]:
        where = QueueFilter(
            status=status.value,
            reason=reason,
            category=category,
            region_prefix=region_prefix,
            scope_region=await self._scope_region(principal),
            since=_day_start(since),
            until=_day_start(until + timedelta(days=1)) if until and until < date.max else None,
        )
        rows = await self.complaints.page(where, after=_decode(cursor), limit=limit + 1)
        page = rows[:limit]
        notes = await self.complaints.verification_notes([c.id for c in page])
        items = [self._item(principal, c, notes.get(c.id, {})) for c in page]
        next_cursor = None
        if len(rows) > limit:
            last = page[-1]
            next_cursor = encode_cursor(f"{last.created_at.isoformat()}|{last.id}")
        return Page[QueueItem](items=items, next_cursor=next_cursor)

    def _item(self, principal: Principal, c: Complaint, note: dict[str, Any]) -> QueueItem:
        facts = ComplaintFacts(
            anonymous=c.anonymous,
            confidential=c.confidential,
            region_code=c.region_code,
            agency_ids=(),  # in verification: no agency assigned
            reporter_account_id=c.reporter_account_id,
            reporter_token_hash=c.reporter_token_hash,
        )
        view = redact(
            {
                "title": c.title,
                "description": c.description,
                "address": c.address,
                "reporter": {
                    "name": c.reporter_name,
                    "email": c.reporter_email,
                    "phone": c.reporter_phone,
                },
            },
            audience_for(principal, facts),
            anonymous=c.anonymous,
            confidential=c.confidential,
        )
        status = Status(c.status)
        return QueueItem(
            tracking_id=c.tracking_id,
            status=status.value,
            status_label=STATUS_LABELS[status],
            report_type=c.report_type,
            category=c.category_code,
            region_code=c.region_code,
            title=view["title"],
            description=view["description"],
            address=view["address"],
            anonymous=c.anonymous,
            confidential=c.confidential,
            reporter=view["reporter"],
            target_agency_id=c.target_agency_id,
            reasons=list(note.get("reasons", [])),
            flagged_words=list(note.get("flagged_words", [])),
            classification=note.get("classification"),
            held_from_status=c.held_from_status,
            resume_on=c.resume_on,
            submitted_at=c.created_at,
            redacted=view["redacted"],
        )

    # The actions

    async def verify(self, principal: Principal, tracking_id: str, body: VerifyIn) -> ActionOut:
        complaint = await self._visible(principal, tracking_id)
        _check(complaint, Status.verified)
        region_code = complaint.region_code
        if region_code is None:
            raise ProblemError(
                "conflict",
                "the complaint has no region yet: set it first "
                f"(POST /api/v1/verification/complaints/{complaint.tracking_id}/region)",
            )
        categories = await self.engine.repo.categories()
        if body.category is not None:
            category = categories.get(body.category)
            if category is None or not category.active:
                raise ProblemError("validation_failed", errors=[("/category", "unknown_category")])
        target = None
        if body.target_agency_id is not None:
            target = await self.engine.target_in_scope(body.target_agency_id, region_code)
            if target is None:
                raise ProblemError(
                    "validation_failed",
                    "the agency is unknown, inactive, or its scope does not cover the region",
                    errors=[("/target_agency_id", "unknown_agency")],
                )
        if body.category is not None and body.category != complaint.category_code:
            self._reclassify(
                complaint, Classification(body.category, 1.0), principal, method="verifier"
            )
        transition(
            self.session,
            complaint,
            Status.verified,
            EventType.complaint_verified,
            actor=principal,
            reason=body.reason or "diverifikasi",
            agencies=[],
        )
        # Back from a return (bukan wewenang): not to an agency that already sent it back,
        # unless the verifier names it.
        decision = await self.engine.decide(
            report_type=complaint.report_type,
            category_code=complaint.category_code,
            region_code=region_code,
            target_agency_id=target.id if target else complaint.target_agency_id,
            exclude_agency_ids=[] if target else await self.complaints.returned_by(complaint.id),
        )
        await self.disposition(complaint, decision, principal)
        await self.session.flush()
        return _out(complaint, decision)

    async def hold(self, principal: Principal, tracking_id: str, body: HoldIn) -> ActionOut:
        complaint = await self._visible(principal, tracking_id)
        if body.resume_on < datetime.now(UTC).date():
            raise ProblemError("validation_failed", errors=[("/resume_on", "in_the_past")])
        if complaint.status not in {Status.submitted, Status.verified}:
            raise IllegalTransition(Status(complaint.status), Status.on_hold)
        previous = complaint.status
        event = transition(
            self.session,
            complaint,
            Status.on_hold,
            EventType.complaint_held,
            actor=principal,
            reason=body.reason,
            agencies=[],
        )
        complaint.held_from_status = previous
        complaint.resume_on = body.resume_on
        event.data = event.data | {"resume_on": body.resume_on.isoformat()}
        await self.session.flush()
        return _out(complaint)

    async def resume(self, principal: Principal, tracking_id: str, body: ResumeIn) -> ActionOut:
        complaint = await self._visible(principal, tracking_id)
        back = complaint.held_from_status
        if complaint.status != Status.on_hold or back not in {Status.submitted, Status.verified}:
            # Not held, or held by its agency (the inbox resumes those).
            raise IllegalTransition(Status(complaint.status), Status(back or Status.submitted))
        transition(
            self.session,
            complaint,
            Status(back),
            EventType.complaint_resumed,
            actor=principal,
            reason=body.reason or "dilanjutkan",
            agencies=[],
        )
        complaint.held_from_status = None
        complaint.resume_on = None
        await self.session.flush()
        return _out(complaint)

    async def archive(self, principal: Principal, tracking_id: str, body: ArchiveIn) -> ActionOut:
        complaint = await self._visible(principal, tracking_id)
        target = Status.archived
        if body.reason_code is ArchiveReason.duplicate:
            if body.duplicate_of is None:
                raise ProblemError("validation_failed", errors=[("/duplicate_of", "missing")])
            if (
                body.duplicate_of.upper() == complaint.tracking_id
                or not await self.complaints.exists(body.duplicate_of)
            ):
                raise ProblemError(
                    "validation_failed", errors=[("/duplicate_of", "unknown_complaint")]
                )
            target = Status.duplicate
        elif body.duplicate_of is not None:
            raise ProblemError(
                "validation_failed", errors=[("/duplicate_of", "only_for_duplicate")]
            )
        _check(complaint, target)
        event = transition(
            self.session,
            complaint,
            target,
            EventType.complaint_archived,
            actor=principal,
            reason=body.reason or ARCHIVE_LABELS[body.reason_code],
            agencies=[],
        )
        event.data = event.data | {
            "reason_code": body.reason_code.value,
            "duplicate_of": body.duplicate_of.upper() if body.duplicate_of else None,
        }
        await self.session.flush()
        return _out(complaint)

    async def request_info(
        self, principal: Principal, tracking_id: str, body: RequestInfoIn
    ) -> ActionOut:
        complaint = await self._visible(principal, tracking_id)
        if complaint.status != Status.submitted:
            raise ProblemError(
                "illegal_transition",
                "only a complaint awaiting verification can be asked about, "
                f"not one {complaint.status}",
            )
        record_event(
            self.session,
            EventType.complaint_info_requested,
            actor=principal,
            complaint_id=complaint.id,
            data=_data(complaint, "meminta informasi tambahan dari pelapor")
            | {"question": body.question},
        )
        await self.session.flush()
        return _out(complaint)

    async def set_region(self, principal: Principal, tracking_id: str, body: RegionIn) -> ActionOut:
        """An admin gives a complaint awaiting verification its region (an Open311 request that
        came with coordinates or an address only); the automatic verification then runs again,
        as if it had just been filed: verified and dispositioned, or back in the queue with the
        reasons that remain."""
        complaint = await self._visible(principal, tracking_id)
        if complaint.status != Status.submitted:
            raise ProblemError(
                "illegal_transition",
                f"only a complaint awaiting verification gets its region here, not one "
                f"{complaint.status}",
            )
        if not await self.engine.repo.region_exists(body.region_code):
            raise ProblemError("validation_failed", errors=[("/region_code", "unknown_region")])
        previous = complaint.region_code
        complaint.region_code = body.region_code
        record_event(
            self.session,
            EventType.complaint_region_set,
            actor=principal,
            complaint_id=complaint.id,
            data=_data(complaint, body.reason or f"wilayah ditetapkan: {body.region_code}")
            | {"previous_region_code": previous},
        )
        decision = await self.route_automatically(complaint)
        await self.session.flush()
        return _out(complaint, decision)


ARCHIVE_LABELS = {
    ArchiveReason.not_actionable: "tidak dapat ditindaklanjuti",
    ArchiveReason.spam: "spam",
    ArchiveReason.not_public_service: "bukan pelayanan publik",
    ArchiveReason.duplicate: "duplikat",
}


def _data(complaint: Complaint, reason: str) -> dict[str, Any]:
    """An event's data for a complaint that has no agency (in verification)."""
    return complaint_data(complaint, []) | {
        "previous_status": complaint.status,
        "reason": reason,
    }


def _check(complaint: Complaint, target: Status) -> None:
    """The queue acts on complaints awaiting verification only (409 otherwise)."""
    if complaint.status != Status.submitted:
        raise IllegalTransition(Status(complaint.status), target)


def _out(complaint: Complaint, decision: Decision | None = None) -> ActionOut:
    status = Status(complaint.status)
    return ActionOut(
        tracking_id=complaint.tracking_id,
        status=status.value,
        status_label=STATUS_LABELS[status],
        category=complaint.category_code,
        agency=None
        if decision is None
        else {
            "id": str(decision.agency.id),
            "code": decision.agency.code,
            "name": decision.agency.name,
        },
        rule_id=decision.rule.id if decision and decision.rule else None,
    )


def _day_start(day: date | None) -> datetime | None:
    return datetime.combine(day, time.min, tzinfo=UTC) if day else None


def _decode(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    key = decode_cursor(cursor)
    if key is None:
        return None
    try:
        when, ident = key.split("|", 1)
        moment = datetime.fromisoformat(when)
        return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)), uuid.UUID(ident)
    except ValueError as exc:
        raise ProblemError("validation_failed", errors=[("/cursor", "invalid_cursor")]) from exc
