"""Routing operations on a new complaint: verification, then disposition. Never commits.

The work is in routing/verification (classify, policy, the queue's actions) and
routing/disposition (the rules engine); this is the worker's entry point."""

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from routing.repository import ComplaintRepository
from routing.verification.service import VerificationService
from services.logging import get_logger
from services.settings import Settings

log = get_logger(__name__)


class RoutingService:
    def __init__(self, session: AsyncSession, settings: Settings | None = None) -> None:
        self.session = session
        self.settings = settings
        self.complaints = ComplaintRepository(session)

    async def prefetch(self, complaint_ids: Sequence[uuid.UUID]) -> None:
        await self.complaints.load_bare(complaint_ids)

    async def on_submitted(self, complaint_id: uuid.UUID) -> None:
        """Classify when uncategorised, verify automatically when the policy allows and
        disposition by the rules; else leave it in the verification queue with the reasons.

        A submitted complaint has no agency yet, so its assignments are not loaded: the events
        name the one agency chosen here. No flush: a batch's writes go out at its commit."""
        await VerificationService(self.session, self.settings).on_submitted(complaint_id)
