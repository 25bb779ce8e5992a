"""The reporter's side of the conversation. Never commits: the request edge does.

The reporter is the complaint's citizen account or whoever holds its reporter token
(services.privacy.is_reporter); anyone else gets 403 `not_reporter`. Every action writes its
event (the timeline) in the request's transaction; status changes go through
services.complaints.transition, so a concurrent change of the same complaint answers 409.
The reporter's texts are content: for a confidential complaint they stay off the published
event (services/conversation.py).
"""

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from intake.conversation.repository import ConversationRepository
from intake.conversation.schemas import (
    AgencyName,
    CommentOut,
    FollowOut,
    FollowUpOut,
    RatingOut,
)
from intake.repository import ComplaintRepository, ReferenceRepository
from intake.schemas import ComplaintSummary
from intake.service import before_id_of, complaint_view, facts, summary_page
from services import clock
from services.complaints import record_complaint_event, transition
from services.conversation import attach_texts, readable, record_conversation_event
from services.domain.calendar import add_working_days
from services.domain.lifecycle import Status
from services.domain.regions import timezone_of
from services.domain.sla import REOPEN_WINDOW_DAYS, VERIFICATION_TIMEZONE
from services.events.catalogue import EventType
from services.models import Complaint, Event
from services.pagination import Page
from services.policy import not_visible
from services.principal import Principal
from services.privacy import audience_for, is_reporter
from services.problems import ProblemError
from services.runtime import Runtime

# Where the conversation has ended: a resolved complaint is reopened (or rated), archived and
# duplicate complaints are final.
CLOSED = frozenset({Status.resolved, Status.archived, Status.duplicate})
RESOLUTIONS = (EventType.complaint_resolved, EventType.complaint_resolution_accepted)


def _agency(data: dict[str, Any]) -> AgencyName | None:
    agency = data.get("agency")
    return AgencyName.model_validate(agency) if isinstance(agency, dict) else None


def reopen_deadline(complaint: Complaint, resolved_at: datetime) -> datetime:
    """The end of the REOPEN_WINDOW_DAYS-th working day after the resolution, counted in the
    complaint's region's time zone (as the reply window is)."""
    # A complaint still without a region (an Open311 request) counts in WIB.
    zone = timezone_of(complaint.region_code) if complaint.region_code else VERIFICATION_TIMEZONE
    return add_working_days(resolved_at, REOPEN_WINDOW_DAYS, zone)


def _require(complaint: Complaint, status: Status, why: str) -> None:
    """The reporter's transitions start from one status each (the state machine alone would let
    a reply or an acceptance skip the agency's follow-up)."""
    if complaint.status != status:
        raise ProblemError("wrong_status", f"{why}; this complaint is {complaint.status}")


class ConversationService:
    def __init__(self, session: AsyncSession, runtime: Runtime) -> None:
        self.session = session
        self.runtime = runtime
        self.complaints = ComplaintRepository(session)
        self.reference = ReferenceRepository(session)
        self.conversation = ConversationRepository(session)

    async def _complaint(self, tracking_id: str) -> Complaint:
        complaint = await self.complaints.by_tracking_id(tracking_id.upper())
        if complaint is None:
            raise not_visible("complaint with tracking id", tracking_id)
        return complaint

    async def _as_reporter(
        self, principal: Principal, tracking_id: str, reporter_token: str | None
    ) -> Complaint:
        complaint = await self._complaint(tracking_id)
        if not is_reporter(principal, facts(complaint), reporter_token):
            raise ProblemError(
                "not_reporter",
                "only the reporter may do this: sign in with the account that filed it or send "
                "its X-Reporter-Token",
            )
        return complaint

    async def _view(
        self, principal: Principal, complaint: Complaint, reporter_token: str | None
    ) -> dict[str, Any]:
        """The complaint after the action, as the reporter sees it."""
        await self.conversation.written(complaint)
        code = complaint.region_code  # None until an admin sets it (Open311 without a region)
        region_name = None if code is None else await self.reference.region_name(code)
        events = await self.complaints.timeline(complaint.id)
        audience = audience_for(principal, facts(complaint), reporter_token)
        return complaint_view(complaint, region_name or code, events, audience)

    # --- reading the conversation ---------------------------------------------------------

    async def comments(
        self, principal: Principal, tracking_id: str, reporter_token: str | None
    ) -> list[CommentOut]:
        complaint = await self._complaint(tracking_id)
        audience = audience_for(principal, facts(complaint), reporter_token)
        events = await self.conversation.events(complaint.id, [EventType.complaint_commented])
        return [self._comment(e, readable(e, audience, complaint.confidential)) for e in events]

    @staticmethod
    def _comment(event: Event, data: dict[str, Any]) -> CommentOut:
        return CommentOut(
            id=event.id,
            author=data.get("author", "reporter"),
            agency=_agency(data),
            actor_role=event.actor_role,
            body=data.get("body"),
            created_at=event.occurred_at,
        )

    async def follow_ups(
        self, principal: Principal, tracking_id: str, reporter_token: str | None
    ) -> list[FollowUpOut]:
        """The agencies' follow-ups, from their `complaint.followed_up` events: routing puts
        the text there (in `private_data` for a confidential complaint)."""
        complaint = await self._complaint(tracking_id)
        audience = audience_for(principal, facts(complaint), reporter_token)
        events = await self.conversation.events(complaint.id, [EventType.complaint_followed_up])
        answers = []
        for event in events:
            data = readable(event, audience, complaint.confidential)
            answers.append(
                FollowUpOut(
                    id=event.id,
                    agency=_agency(data),
                    actor_role=event.actor_role,
                    text=data.get("text"),
                    created_at=event.occurred_at,
                )
            )
        return answers

    # --- the reporter's actions -------------------------------------------------------------

    async def comment(
        self, principal: Principal, tracking_id: str, reporter_token: str | None, body: str
    ) -> CommentOut:
        complaint = await self._as_reporter(principal, tracking_id, reporter_token)
        if complaint.status in CLOSED:
            raise ProblemError(
                "wrong_status",
                f"the complaint is {complaint.status}: a resolved complaint is reopened or "
                "rated, not commented on",
            )
        event = record_conversation_event(
            self.session,
            complaint,
            EventType.complaint_commented,
            actor=principal,
            texts={"body": body},
            author="reporter",
        )
        await self.conversation.flush()
        return self._comment(event, event.data | (event.private_data or {}))

    async def reply(
        self, principal: Principal, tracking_id: str, reporter_token: str | None, body: str
    ) -> dict[str, Any]:
        """responded → in_progress: the agency must answer again; the reply window stops."""
        complaint = await self._as_reporter(principal, tracking_id, reporter_token)
        if complaint.status == Status.resolved:
            raise ProblemError(
                "reply_window_closed",
                "the complaint is resolved, so its reply window is closed: reopen it within "
                f"{REOPEN_WINDOW_DAYS} working days of the resolution instead",
            )
        _require(complaint, Status.responded, "only a follow-up awaiting your answer is replied to")
        event = transition(
            self.session,
            complaint,
            Status.in_progress,
            EventType.complaint_reporter_replied,
            actor=principal,
            reason="pelapor menanggapi tindak lanjut",
        )
        attach_texts(event, complaint.confidential, {"body": body})
        return await self._view(principal, complaint, reporter_token)

    async def accept(
        self, principal: Principal, tracking_id: str, reporter_token: str | None
    ) -> dict[str, Any]:
        """responded → resolved: the reporter is satisfied with the follow-up."""
        complaint = await self._as_reporter(principal, tracking_id, reporter_token)
        _require(complaint, Status.responded, "only a follow-up awaiting your answer is accepted")
        transition(
            self.session,
            complaint,
            Status.resolved,
            EventType.complaint_resolution_accepted,
            actor=principal,
            reason="pelapor menerima tindak lanjut",
        )
        return await self._view(principal, complaint, reporter_token)

    async def rate(
        self,
        principal: Principal,
        tracking_id: str,
        reporter_token: str | None,
        rating: int,
        comment: str | None,
    ) -> RatingOut:
        """Once per complaint, once it is resolved. The complaint row is written too, so two
        concurrent ratings cannot both pass the check (the second answers 409)."""
        complaint = await self._as_reporter(principal, tracking_id, reporter_token)
        if complaint.status != Status.resolved:
            raise ProblemError(
                "wrong_status", f"only a resolved complaint is rated, not one {complaint.status}"
            )
        if await self.conversation.latest(complaint.id, [EventType.complaint_rated]) is not None:
            raise ProblemError("already_rated", "this complaint has been rated already")
        complaint.updated_at = datetime.now(UTC)
        event = record_conversation_event(
            self.session,
            complaint,
            EventType.complaint_rated,
            actor=principal,
            texts={"comment": comment},
            rating=rating,
        )
        await self.conversation.flush()
        return RatingOut(
            tracking_id=complaint.tracking_id,
            rating=rating,
            comment=comment,
            rated_at=event.occurred_at,
        )

    async def reopen(
        self, principal: Principal, tracking_id: str, reporter_token: str | None, reason: str
    ) -> dict[str, Any]:
        """resolved → in_progress, within REOPEN_WINDOW_DAYS working days of the resolution
        (on the platform's clock); routing restarts the agencies' clocks."""
        complaint = await self._as_reporter(principal, tracking_id, reporter_token)
        _require(complaint, Status.resolved, "only a resolved complaint is reopened")
        resolution = await self.conversation.latest(complaint.id, RESOLUTIONS)
        resolved_at = resolution.occurred_at if resolution else complaint.updated_at
        deadline = reopen_deadline(complaint, resolved_at)
        now = await clock.now(self.runtime.settings, self.runtime.redis)
        if now > deadline:
            raise ProblemError(
                "reopen_window_closed",
                f"a complaint is reopened within {REOPEN_WINDOW_DAYS} working days of its "
                f"resolution; that ended at {deadline.isoformat()}: file a new complaint",
            )
        event = transition(
            self.session,
            complaint,
            Status.in_progress,
            EventType.complaint_reopened,
            actor=principal,
        )
        attach_texts(event, complaint.confidential, {"reason": reason})
        return await self._view(principal, complaint, reporter_token)

    # --- following ------------------------------------------------------------------------

    async def follow(self, principal: Principal, tracking_id: str) -> tuple[FollowOut, bool]:
        """(the answer, whether it started now). A citizen follows a complaint to get its
        notifications; following twice changes nothing."""
        account = uuid.UUID(principal.subject or "")
        complaint = await self._complaint(tracking_id)
        if complaint.confidential and not is_reporter(principal, facts(complaint), None):
            raise ProblemError("forbidden", "only its reporter may follow a confidential complaint")
        if complaint.status in {Status.archived, Status.duplicate}:
            raise ProblemError(
                "wrong_status",
                f"the complaint is {complaint.status}: follow the one it duplicates instead"
                if complaint.status == Status.duplicate
                else f"the complaint is {complaint.status}: there is nothing left to follow",
            )
        started = await self.conversation.follow(complaint.id, account)
        if started is None:
            since = await self.conversation.following_since(complaint.id, account)
            return FollowOut(tracking_id=complaint.tracking_id, following=True, since=since), False
        record_complaint_event(
            self.session,
            complaint,
            EventType.complaint_followed,
            actor=principal,
            account_id=str(account),
        )
        return FollowOut(tracking_id=complaint.tracking_id, following=True, since=started), True

    async def unfollow(self, principal: Principal, tracking_id: str) -> None:
        account = uuid.UUID(principal.subject or "")
        complaint = await self._complaint(tracking_id)
        if await self.conversation.unfollow(complaint.id, account):
            record_complaint_event(
                self.session,
                complaint,
                EventType.complaint_unfollowed,
                actor=principal,
                account_id=str(account),
            )

    async def following(
        self, principal: Principal, cursor: str | None, limit: int
    ) -> Page[ComplaintSummary]:
        """The complaints a citizen follows, newest first."""
        account = uuid.UUID(principal.subject or "")
        before_id = before_id_of(cursor)
        rows = await self.conversation.followed(account, before_id, limit + 1)
        return summary_page(list(rows), limit)
