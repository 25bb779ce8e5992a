"""Ops lists: overdue, returned more than once and stalled complaints (from the facts), and
the pipeline's health: queue depths, outbox lag, failed events, dead-lettered webhooks. No
personal data: tracking ids, codes and times only. Never commits."""

import uuid
from datetime import date, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from routing.stats.repository import StatsRepository
from services.domain.calendar import is_working_day, local_day, start_of_day
from services.domain.sla import VERIFICATION_TIMEZONE
from services.events.catalogue import Consumer
from services.pagination import Page, decode_cursor, encode_cursor
from services.problems import ProblemError
from services.queue import queue_name
from services.settings import Settings

ListName = Literal["overdue", "returned", "stalled"]


class OpsComplaint(BaseModel):
    tracking_id: str = Field(examples=["ADN-7K3QX9P2"])
    status: str = Field(examples=["in_progress"])
    region_code: str = Field(examples=["11.01.01"])
    category: str = Field(examples=["infrastruktur"])
    submitted_at: datetime
    last_event_at: datetime
    returns: int = Field(examples=[2])
    escalation_level: int = Field(examples=[1])


class QueueDepth(BaseModel):
    consumer: str = Field(examples=["notifications"])
    queued: int = Field(description="Jobs waiting in the arq queue", examples=[3])


class FailedEvents(BaseModel):
    consumer: str = Field(examples=["routing"])
    status: str = Field(examples=["failed"])
    count: int = Field(examples=[2])
    list_url: str = Field(examples=["/api/v1/ops/failed-events?status=failed"])


class DeadLetters(BaseModel):
    endpoint_id: uuid.UUID
    url: str = Field(examples=["https://lapor.acehselatankab.go.id/hooks/aduan"])
    dead: int = Field(examples=[4])
    deliveries_url: str = Field(
        description="Where admins see the deliveries and redeliver them (notifications)",
        examples=["/api/v1/webhooks/endpoints/0193.../deliveries?status=dead"],
    )


class PipelineHealth(BaseModel):
    queues: list[QueueDepth]
    outbox_unpublished: int = Field(description="Events not yet published", examples=[0])
    outbox_lag_seconds: float = Field(
        description="Age of the oldest unpublished event (0 when none)", examples=[0.0]
    )
    failed_events: list[FailedEvents]
    dead_lettered_webhooks: list[DeadLetters]
    stats_refreshed_through: datetime | None = Field(
        description="The statistics' watermark: events up to about this time are counted"
    )


def stalled_cutoff(now: datetime, working_days: int) -> datetime:
    """Events before this instant are `working_days` or more working days old (WIB): the
    working days in [day of the event, today) are at least that many."""
    day: date = local_day(now, VERIFICATION_TIMEZONE)
    found = 0
    while found < working_days:
        day -= timedelta(days=1)
        if is_working_day(day):
            found += 1
    return start_of_day(day + timedelta(days=1), VERIFICATION_TIMEZONE)


class OpsService:
    def __init__(self, session: AsyncSession, settings: Settings, redis: Redis) -> None:
        self.repository = StatsRepository(session)
        self.settings = settings
        self.redis = redis

    async def complaints(
        self,
        which: ListName,
        *,
        cursor: str | None,
        limit: int,
        now: datetime,
        stalled_days: int | None = None,
    ) -> Page[OpsComplaint]:
        key = decode_cursor(cursor)
        try:
            before = uuid.UUID(key) if key else None
        except ValueError as exc:
            raise ProblemError("validation_failed", errors=[("/cursor", "invalid_cursor")]) from exc
        cutoff = stalled_cutoff(now, stalled_days or self.settings.stats_stalled_working_days)
        rows = await self.repository.listed(which, before, limit + 1, cutoff)
        items = [
            OpsComplaint(
                tracking_id=r.tracking_id,
                status=r.status,
                region_code=r.region_code,
                category=r.category_code,
                submitted_at=r.submitted_at,
                last_event_at=r.last_event_at,
                returns=r.returns,
                escalation_level=r.escalation_level,
            )
            for r in rows[:limit]
        ]
        more = len(rows) > limit
        return Page[OpsComplaint](
            items=items,
            next_cursor=encode_cursor(str(rows[limit - 1].complaint_id)) if more else None,
        )

    async def health(self, now: datetime) -> PipelineHealth:
        queues = [
            QueueDepth(
                consumer=consumer.value,
                queued=int(await self.redis.zcard(queue_name(self.settings, consumer.value))),
            )
            for consumer in Consumer
        ]
        unpublished, oldest = await self.repository.outbox_lag()
        return PipelineHealth(
            queues=queues,
            outbox_unpublished=unpublished,
            outbox_lag_seconds=max(0.0, (now - oldest).total_seconds()) if oldest else 0.0,
            failed_events=[
                FailedEvents(
                    consumer=consumer,
                    status=status,
                    count=count,
                    list_url=f"/api/v1/ops/failed-events?status={status}",
                )
                for consumer, status, count in await self.repository.failed_events()
            ],
            dead_lettered_webhooks=[
                DeadLetters(
                    endpoint_id=endpoint_id,
                    url=url,
                    dead=dead,
                    deliveries_url=f"/api/v1/webhooks/endpoints/{endpoint_id}/deliveries"
                    "?status=dead",
                )
                for endpoint_id, url, dead in await self.repository.dead_letters()
            ],
            stats_refreshed_through=await self.repository.watermark("facts"),
        )
