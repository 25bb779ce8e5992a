"""The worker's verification of a new complaint: automatic when the policy allows (then
disposition), else the manual queue with the reasons; an uncategorised complaint classified from
its text, or left for a person when the classifier is not sure."""

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState

from routing.disposition.repository import clear_caches
from routing.service import RoutingService
from routing.worker import route_event
from services.events.envelope import EventEnvelope
from services.models import Complaint, ComplaintAgency, Event
from services.runtime import Runtime
from services.worker import event_task
from tests.factories import add_complaint, add_event

handle_event = event_task("routing", route_event)


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    clear_caches()
    yield
    clear_caches()


async def submit(runtime: Runtime, session: AsyncSession, **fields: Any) -> Complaint:
    """A complaint as intake leaves it, and the worker's handling of its submitted event."""
    async with runtime.sessionmaker() as writer:
        filed = await add_complaint(writer, **fields)
        event = await add_event(writer, complaint=filed)
        await writer.commit()
    result = await handle_event(
        {"runtime": runtime}, EventEnvelope.of(event).model_dump(mode="json")
    )
    assert result == "processed"
    stored = await session.scalar(select(Complaint).where(Complaint.id == filed.id))
    assert stored is not None
    await session.refresh(stored)
    return stored


async def timeline(session: AsyncSession, complaint: Complaint) -> list[Event]:
    rows = await session.scalars(
        select(Event).where(Event.complaint_id == complaint.id).order_by(Event.id)
    )
    return list(rows)


async def handlers(session: AsyncSession, complaint: Complaint) -> list[str]:
    rows = await session.scalars(
        select(ComplaintAgency).where(ComplaintAgency.complaint_id == complaint.id)
    )
    return [a.agency.code for a in rows]


async def test_a_complaint_of_a_manual_category_waits_in_the_queue_with_its_reason(
    runtime: Runtime, session: AsyncSession
) -> None:
    stored = await submit(
        runtime,
        session,
        category="korupsi_pungli",
        title="Pungutan liar di kantor desa",
        description="Petugas meminta uang Rp50.000 untuk surat keterangan domisili.",
    )

    assert stored.status == "submitted"
    assert await handlers(session, stored) == []
    events = await timeline(session, stored)
    assert [e.type for e in events] == ["complaint.submitted", "complaint.verification_required"]
    required = events[-1]
    assert required.data["reasons"] == ["category_policy"]
    assert required.actor_kind == "system" and required.actor_role == "system"
    assert required.data["reason"]


async def test_abusive_or_spam_words_send_a_complaint_to_a_person(
    runtime: Runtime, session: AsyncSession
) -> None:
    stored = await submit(
        runtime,
        session,
        title="Jalan rusak, pejabat goblok",
        description="Jalan berlubang tidak pernah diperbaiki. Info slot gacor: bit.ly/abc",
    )

    assert stored.status == "submitted"
    required = (await timeline(session, stored))[-1]
    assert required.data["reasons"] == ["flagged_words"]
    assert required.data["flagged_words"] == ["bit.ly", "gacor", "goblok", "slot gacor"]


async def test_an_uncategorised_complaint_is_classified_and_dispositioned_to_the_right_office(
    runtime: Runtime, session: AsyncSession
) -> None:
    stored = await submit(
        runtime,
        session,
        category="lainnya",
        title="Puskesmas kekurangan dokter",
        description="Pasien menunggu berjam-jam karena dokter di puskesmas hanya satu orang.",
    )

    assert (stored.status, stored.category_code) == ("dispositioned", "kesehatan")
    assert await handlers(session, stored) == ["pemda-11.01.dinas-kesehatan"]
    events = await timeline(session, stored)
    assert [e.type for e in events] == [
        "complaint.submitted",
        "complaint.classified",
        "complaint.verified",
        "complaint.dispositioned",
    ]
    classified = events[1].data
    assert (classified["category"], classified["previous_category"]) == ("kesehatan", "lainnya")
    assert classified["confidence"] == 1.0
    assert set(classified["matched_words"]) >= {"puskesmas", "dokter", "pasien"}
    assert events[3].data["disposition"]["rule"]["office_type"] == "dinas_kesehatan"


async def test_an_uncategorised_complaint_the_classifier_is_unsure_of_waits_for_a_person(
    runtime: Runtime, session: AsyncSession
) -> None:
    stored = await submit(
        runtime,
        session,
        category="lainnya",
        title="Pelayanan kantor lambat",
        description="Saya sudah menunggu tiga minggu tanpa kabar apa pun dari petugas.",
    )

    assert (stored.status, stored.category_code) == ("submitted", "lainnya")
    events = await timeline(session, stored)
    assert [e.type for e in events] == ["complaint.submitted", "complaint.verification_required"]
    assert events[-1].data["reasons"] == ["low_confidence"]
    assert events[-1].data["classification"]["confidence"] < 0.5


async def test_a_channel_verified_by_hand_goes_to_the_queue(
    runtime: Runtime, session: AsyncSession
) -> None:
    runtime.settings = runtime.settings.model_copy(
        update={"verification_manual_channels": ["regional_system"]}
    )

    from_regions = await submit(runtime, session, submitted_by="regional_system:key-1")
    from_app = await submit(runtime, session, submitted_by="anonymous:abc")

    assert from_regions.status == "submitted"
    assert (await timeline(session, from_regions))[-1].data["reasons"] == ["channel_policy"]
    assert from_app.status == "dispositioned"


async def test_routing_a_batch_reads_nothing_per_complaint_once_the_caches_are_warm(
    session: AsyncSession,
) -> None:
    complaints = [await add_complaint(session, region_code=f"11.01.0{i}") for i in range(1, 5)]
    service = RoutingService(session)
    await service.prefetch([c.id for c in complaints])
    await service.on_submitted(complaints[0].id)  # fills the per-process caches
    statements: list[str] = []

    def count(state: ORMExecuteState) -> None:
        statements.append(str(state.statement))

    event.listen(session.sync_session, "do_orm_execute", count)
    try:
        for complaint in complaints[1:]:
            await service.on_submitted(complaint.id)
    finally:
        event.remove(session.sync_session, "do_orm_execute", count)

    assert statements == []
    assert {c.status for c in complaints} == {"dispositioned"}
