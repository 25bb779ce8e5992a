"""All of the conversation's SQL on intake's side: the complaint's conversation events and its
followers (intake's table)."""

import uuid
from collections.abc import Collection
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.models import Complaint, ComplaintFollower, Event


class ConversationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def flush(self) -> None:
        await self.session.flush()

    async def written(self, complaint: Complaint) -> None:
        """Write the action's changes and read back what the database set (updated_at)."""
        await self.session.flush()
        await self.session.refresh(complaint, ["updated_at"])

    async def events(self, complaint_id: uuid.UUID, types: Collection[str]) -> list[Event]:
        """The complaint's events of `types`, oldest first."""
        rows = await self.session.scalars(
            select(Event)
            .where(Event.complaint_id == complaint_id, Event.type.in_(list(types)))
            .order_by(Event.id)
        )
        return list(rows)

    async def latest(self, complaint_id: uuid.UUID, types: Collection[str]) -> Event | None:
        found: Event | None = await self.session.scalar(
            select(Event)
            .where(Event.complaint_id == complaint_id, Event.type.in_(list(types)))
            .order_by(Event.id.desc())
            .limit(1)
        )
        return found

    async def follow(self, complaint_id: uuid.UUID, account_id: uuid.UUID) -> datetime | None:
        """Start following; the time it started, or None when the account already follows
        (a concurrent second request too: the primary key decides)."""
        started: datetime | None = await self.session.scalar(
            insert(ComplaintFollower)
            .values(complaint_id=complaint_id, account_id=account_id)
            .on_conflict_do_nothing()
            .returning(ComplaintFollower.created_at)
        )
        return started

    async def following_since(
        self, complaint_id: uuid.UUID, account_id: uuid.UUID
    ) -> datetime | None:
        since: datetime | None = await self.session.scalar(
            select(ComplaintFollower.created_at).where(
                ComplaintFollower.complaint_id == complaint_id,
                ComplaintFollower.account_id == account_id,
            )
        )
        return since

    async def unfollow(self, complaint_id: uuid.UUID, account_id: uuid.UUID) -> bool:
        """Stop following; False when the account did not follow it."""
        gone = await self.session.scalar(
            delete(ComplaintFollower)
            .where(
                ComplaintFollower.complaint_id == complaint_id,
                ComplaintFollower.account_id == account_id,
            )
            .returning(ComplaintFollower.account_id)
        )
        return gone is not None

    async def followed(
        self, account_id: uuid.UUID, before_id: uuid.UUID | None, limit: int
    ) -> list[Complaint]:
        """The complaints an account follows, newest complaint first, `before_id` exclusive."""
        query = (
            select(Complaint)
            .join(ComplaintFollower, ComplaintFollower.complaint_id == Complaint.id)
            .where(ComplaintFollower.account_id == account_id)
        )
        if before_id is not None:
            query = query.where(Complaint.id < before_id)
        rows = await self.session.scalars(query.order_by(Complaint.id.desc()).limit(limit))
        return list(rows)
