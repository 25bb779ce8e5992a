"""All SQL of attachments (complaint_follow_ups is routing's: read here, never written)."""

import uuid

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.models import ComplaintAttachment, ComplaintFollowUp


class AttachmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def follow_up(self, follow_up_id: uuid.UUID) -> ComplaintFollowUp | None:
        return await self.session.get(ComplaintFollowUp, follow_up_id)

    async def lock(self, complaint_id: uuid.UUID) -> None:
        """Serialise the uploads of one complaint until this transaction ends, so two at once
        cannot both pass the count."""
        key = f"attachments\n{complaint_id}"
        await self.session.execute(
            select(func.pg_advisory_xact_lock(func.hashtextextended(key, 0)))
        )

    async def count(self, complaint_id: uuid.UUID, follow_up_id: uuid.UUID | None) -> int:
        query = select(func.count()).where(ComplaintAttachment.complaint_id == complaint_id)
        if follow_up_id is None:
            query = query.where(ComplaintAttachment.follow_up_id.is_(None))
        else:
            query = query.where(ComplaintAttachment.follow_up_id == follow_up_id)
        return int(await self.session.scalar(query) or 0)

    async def add(self, attachment: ComplaintAttachment) -> None:
        self.session.add(attachment)
        await self.session.flush()

    async def of_complaint(self, complaint_id: uuid.UUID) -> list[ComplaintAttachment]:
        rows = await self.session.scalars(
            select(ComplaintAttachment)
            .where(ComplaintAttachment.complaint_id == complaint_id)
            .order_by(ComplaintAttachment.created_at, ComplaintAttachment.id)
        )
        return list(rows)

    async def get(
        self, complaint_id: uuid.UUID, attachment_id: uuid.UUID
    ) -> ComplaintAttachment | None:
        return await self.session.scalar(
            select(ComplaintAttachment).where(
                ComplaintAttachment.id == attachment_id,
                ComplaintAttachment.complaint_id == complaint_id,
            )
        )

    async def referenced(self, sha256: str) -> bool:
        return bool(
            await self.session.scalar(select(exists().where(ComplaintAttachment.sha256 == sha256)))
        )
