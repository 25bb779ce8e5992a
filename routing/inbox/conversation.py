"""The agency's side of the conversation: its comments to the reporter. Never commits.

A comment is an event (`complaint.commented`, author `agency`) of the complaint's timeline; its
body is content, so for a confidential complaint it stays off the published event
(services/conversation.py). Scope is the inbox's: a complaint the caller's agencies have no
active assignment for answers 404.
"""

from typing import Any

from routing.inbox.service import InboxService, _agency_ref, _refs
from services.conversation import record_conversation_event
from services.domain.lifecycle import Status
from services.events.catalogue import EventType
from services.principal import Principal
from services.problems import ProblemError

# Where the conversation has ended (a reopened complaint can be commented on again).
CLOSED = frozenset({Status.resolved, Status.archived, Status.duplicate})


class AgencyConversation(InboxService):
    async def comment(self, principal: Principal, tracking_id: str, body: str) -> dict[str, Any]:
        complaint = await self._visible(principal, tracking_id)
        if complaint.status in CLOSED:
            raise ProblemError(
                "wrong_status", f"the complaint is {complaint.status}: the conversation is closed"
            )
        mine = self._mine(principal, complaint)
        event = record_conversation_event(
            self.session,
            complaint,
            EventType.complaint_commented,
            actor=principal,
            texts={"body": body},
            agencies=_refs(complaint.assignments),
            author="agency",
            agency=_agency_ref(mine.agency),
        )
        await self.session.flush()
        return {
            "id": event.id,
            "author": "agency",
            "agency": _agency_ref(mine.agency),
            "actor_role": principal.role.value,
            "body": body,
            "created_at": event.occurred_at,
        }
