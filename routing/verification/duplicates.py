"""Verifiers mark a complaint a duplicate of another. Never commits.

Allowed while the complaint is open (any status before resolved, archived or duplicate: the
automatic verification dispositions most complaints before a person sees them); it becomes
`duplicate` (final) and every deadline stops. The complaint it duplicates must exist, be
another one and not itself be a duplicate (name the original instead), else 422 naming
`/duplicate_of`. Scope is the verification queue's: national admins everywhere, a coordinator
in the region of its agency.
"""

from routing.inbox.repository import InboxRepository
from routing.verification.schemas import ActionOut
from routing.verification.service import VerificationService, _out
from services.complaints import active_agencies, transition
from services.domain.lifecycle import Status
from services.domain.regions import covers
from services.events.catalogue import EventType
from services.policy import not_visible
from services.principal import Principal
from services.problems import ProblemError


class DuplicateService(VerificationService):
    async def mark_duplicate(
        self, principal: Principal, tracking_id: str, duplicate_of: str, reason: str | None
    ) -> ActionOut:
        complaints = InboxRepository(self.session)
        complaint = await complaints.by_tracking_id(tracking_id.upper())
        scope = await self._scope_region(principal)
        # A complaint without a region yet lies in no coordinator's scope.
        if complaint is None or (
            scope is not None
            and (complaint.region_code is None or not covers(scope, complaint.region_code))
        ):
            raise not_visible("complaint", tracking_id)
        original_id = duplicate_of.upper()
        if original_id == complaint.tracking_id:
            raise ProblemError(
                "validation_failed", errors=[("/duplicate_of", "duplicate_of_itself")]
            )
        original = await self.complaints.by_tracking_id(original_id)
        if original is None:
            raise ProblemError("validation_failed", errors=[("/duplicate_of", "unknown_complaint")])
        if original.status == Status.duplicate:
            raise ProblemError(
                "validation_failed",
                f"{original_id} is itself a duplicate: name the complaint it duplicates",
                errors=[("/duplicate_of", "target_is_duplicate")],
            )
        event = transition(
            self.session,
            complaint,
            Status.duplicate,
            EventType.complaint_marked_duplicate,
            actor=principal,
            reason=reason or f"duplikat dari {original_id}",
            agencies=active_agencies(complaint),
        )
        event.data = event.data | {"duplicate_of": original_id}
        await self.session.flush()
        return _out(complaint)
