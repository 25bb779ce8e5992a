"""Routing operations: verify and disposition complaints. Never commits."""

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from routing.directory.codes import MINISTRY_CODE, province_agency_code, regency_agency_code
from routing.repository import AgencyRepository, ComplaintRepository
from services.complaints import AgencyRef, transition
from services.domain.lifecycle import Status
from services.domain.regions import province_code, regency_code
from services.events.catalogue import EventType
from services.logging import get_logger
from services.models import Complaint
from services.principal import SYSTEM_ROUTING

log = get_logger(__name__)


class RoutingService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.complaints = ComplaintRepository(session)
        self.agencies = AgencyRepository(session)

    async def responsible_agency(self, complaint: Complaint) -> AgencyRef:
        """The government of the complaint's kabupaten/kota, else its province, else Kemendagri."""
        candidates = []
        regency = regency_code(complaint.region_code)
        if regency:
            candidates.append(regency_agency_code(regency))
        candidates += [province_agency_code(province_code(complaint.region_code)), MINISTRY_CODE]
        for code in candidates:
            agency = await self.agencies.ref_by_code(code)
            if agency is not None:
                return agency
        raise LookupError("no agency seeded: run `aduan seed`")

    async def prefetch(self, complaint_ids: Sequence[uuid.UUID]) -> None:
        await self.complaints.load_bare(complaint_ids)

    async def on_submitted(self, complaint_id: uuid.UUID) -> None:
        """Auto-verify a new complaint and disposition it to the responsible government.

        A submitted complaint has no agency yet, so its assignments are not loaded: the events
        name the one agency chosen here."""
        complaint = await self.complaints.get_bare(complaint_id)
        if complaint is None or complaint.status != Status.submitted:
            log.info("complaint %s is no longer awaiting verification; skipped", complaint_id)
            return
        transition(
            self.session,
            complaint,
            Status.verified,
            EventType.complaint_verified,
            actor=SYSTEM_ROUTING,
            reason="verifikasi otomatis",
            agencies=[],
        )
        agency = await self.responsible_agency(complaint)
        self.complaints.assign(complaint, agency)
        transition(
            self.session,
            complaint,
            Status.dispositioned,
            EventType.complaint_dispositioned,
            actor=SYSTEM_ROUTING,
            reason=f"disposisi ke {agency.name}",
            agencies=[agency],
        )
        # No flush here: the writes of a whole batch go out together at the commit.
