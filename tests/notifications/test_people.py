"""Notifications to people, against real local servers: an aiosmtpd SMTP server and loopback
HTTP receivers standing in for the FCM endpoint and the SMS gateway. Events go through the real
notifications job (`handle_event`); the real sender sends what it planned."""

import dataclasses
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select, text, update

from notifications.dispatcher import Dispatcher
from notifications.people.channels import build_channels
from notifications.people.jobs import daily_digest, forget_old_messages, reply_windows_closing
from notifications.people.sender import PeopleSender, SenderConfig
from services.complaints import complaint_data
from services.domain.calendar import add_working_days
from services.events.catalogue import EventType
from services.events.envelope import EventEnvelope
from services.events.outbox import record_event, take_pending
from services.models import Agency, Complaint, PersonMessage, WebhookDelivery, WebhookEndpoint
from services.principal import system
from services.runtime import Runtime
from tests import factories
from tests.notifications.conftest import fast_config
from tests.notifications.helpers import ROUTING, add_endpoint, fan_out, until
from tests.notifications.receivers import hanging_receiver
from tests.receiver import Receiver, running_receiver
from tests.smtp import Mailbox, html_of, smtp_server, text_of

PUSH_TOKEN = "push-bearer-secret"
SMS_KEY = "sms-api-key"
AGENCY = "pemda-11.01"
HOUR = timedelta(hours=1)
PEOPLE_TABLES = (
    "person_messages, notification_contacts, notification_preferences, notification_followers"
)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as running:
        yield running


@pytest.fixture
async def push() -> AsyncIterator[Receiver]:
    async with running_receiver(webhooks=False) as running:
        yield running


@pytest.fixture
async def sms() -> AsyncIterator[Receiver]:
    async with running_receiver(webhooks=False) as running:
        yield running


def with_channels(runtime: Runtime, **settings: Any) -> Runtime:
    return dataclasses.replace(
        runtime, settings=runtime.settings.model_copy(update={"smtp_tls": "none"} | settings)
    )


@pytest.fixture
def people(runtime: Runtime, mailbox: Mailbox, push: Receiver, sms: Receiver) -> Runtime:
    """The runtime of a notifications worker with every channel configured."""
    return with_channels(
        runtime,
        smtp_host="127.0.0.1",
        smtp_port=mailbox.port,
        push_endpoint=push.url,
        push_token=SecretStr(PUSH_TOKEN),
        sms_endpoint=sms.url,
        sms_api_key=SecretStr(SMS_KEY),
    )


async def send_due(runtime: Runtime, rounds: int = 1) -> None:
    """What the worker's sender does, one claim at a time; a failure is due again at once."""
    config = SenderConfig.from_settings(runtime.settings, retry_delay=lambda attempts: 0.0)
    sender = PeopleSender(runtime, build_channels(runtime.settings), config)
    try:
        for _ in range(rounds):
            await sender.run_once()
    finally:
        for channel in sender.channels.values():
            await channel.close()


async def complaint(runtime: Runtime, **fields: Any) -> Complaint:
    async with runtime.sessionmaker() as session:
        found = await factories.add_complaint(session, **fields)
        await session.commit()
        return found


async def event(
    runtime: Runtime, type_: EventType, complaint: Complaint | None = None, **data: Any
) -> EventEnvelope:
    """An event as its service records it, handed to the notifications job."""
    # The complaint's snapshot, as services.complaints records it (webhooks carry it too).
    payload = complaint_data(complaint, agencies=[]) if complaint else {}
    async with runtime.sessionmaker() as session:
        recorded = record_event(
            session,
            type_,
            actor=ROUTING,
            complaint_id=complaint.id if complaint else None,
            data=payload | data,
        )
        await session.commit()
        take_pending(session)
    envelope = EventEnvelope.of(recorded)
    assert await fan_out(runtime, envelope) == "processed"
    return envelope


async def account(
    runtime: Runtime,
    type_: EventType = EventType.account_registered,
    *,
    preferences: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """An account as notifications learns it: from the gateway's account event."""
    data = factories.account_event_data(factories.new_id(), **fields)
    await event(runtime, type_, **data)
    if preferences is not None:
        async with runtime.sessionmaker() as session:
            await factories.add_preferences(session, uuid.UUID(data["account_id"]), **preferences)
            await session.commit()
    return data


async def agency(runtime: Runtime, code: str = AGENCY) -> dict[str, str]:
    """A seeded agency as events name it."""
    async with runtime.sessionmaker() as session:
        found = await session.get(Agency, await factories.agency_id(session, code))
        assert found is not None
    return {"id": str(found.id), "code": code, "name": found.name}


async def messages(runtime: Runtime) -> list[PersonMessage]:
    async with runtime.sessionmaker() as session:
        query = select(PersonMessage).order_by(PersonMessage.id)
        return list(await session.scalars(query.execution_options(populate_existing=True)))


def json_of(receiver: Receiver) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in receiver.received]


# --- acceptance 4 ---------------------------------------------------------------------------


async def test_the_reporter_gets_an_email_in_indonesian_with_the_tracking_id(
    people: Runtime, mailbox: Mailbox
) -> None:
    filed = await complaint(people, reporter_email="warga@example.id", reporter_phone=None)

    await event(people, EventType.complaint_submitted, filed)
    await send_due(people)

    [email] = await mailbox.wait_for("warga@example.id")
    assert email["Subject"] == f"Aduan {filed.tracking_id} telah diterima"
    assert email["From"] == "Aduan <noreply@aduan.go.id>"
    text = text_of(email)
    assert f"Nomor pelacakan: {filed.tracking_id}" in text
    assert "Terima kasih, aduan Anda telah kami terima." in text
    assert f"<p>Nomor pelacakan: {filed.tracking_id}</p>" in html_of(email)


async def test_the_agency_staff_get_an_email_when_a_complaint_lands_in_their_inbox(
    people: Runtime, mailbox: Mailbox
) -> None:
    target = await agency(people)
    other = await agency(people, "pemprov-11")
    liaison = await account(
        people, EventType.account_staff_created, role="liaison", agency_id=uuid.UUID(target["id"])
    )
    elsewhere = await account(
        people, EventType.account_staff_created, role="liaison", agency_id=uuid.UUID(other["id"])
    )
    filed = await complaint(people, reporter_email="warga@example.id")

    await event(
        people, EventType.complaint_dispositioned, filed, agencies=[target], title="Jalan <rusak>"
    )
    await send_due(people)

    [inbox] = await mailbox.wait_for(liaison["email"])
    assert inbox["Subject"] == f"Aduan baru {filed.tracking_id} untuk {target['name']}"
    assert "Judul: Jalan <rusak>" in text_of(inbox)
    assert "Judul: Jalan &lt;rusak&gt;" in html_of(inbox)  # autoescaped
    [reporter] = await mailbox.wait_for("warga@example.id")
    assert f"diteruskan (didisposisikan) ke {target['name']}." in text_of(reporter)
    assert mailbox.to(elsewhere["email"]) == []


async def test_deadline_reminders_and_escalations_reach_the_agency_concerned(
    people: Runtime, mailbox: Mailbox
) -> None:
    office = await agency(people)
    above = await agency(people, "pemprov-11")
    liaison = await account(
        people, EventType.account_staff_created, role="liaison", agency_id=uuid.UUID(office["id"])
    )
    coordinator = await account(
        people,
        EventType.account_staff_created,
        role="coordinator",
        agency_id=uuid.UUID(above["id"]),
    )
    filed = await complaint(people, reporter_email="warga@example.id")

    await event(
        people,
        EventType.complaint_reminder,
        filed,
        agency=office,
        clock="first_response",
        reminder=2,
        due_at="2026-12-01T16:59:59.999999+00:00",
    )
    await event(people, EventType.complaint_escalated, filed, to=above, level=1, **{"from": office})
    await send_due(people)

    [reminder] = await mailbox.wait_for(liaison["email"])
    assert reminder["Subject"] == f"Pengingat: tenggat aduan {filed.tracking_id} terlewati"
    # The due time as the agency reads it: its own zone (WIB for Aceh).
    assert "terlewati sejak 01-12-2026 23:59 WIB. Ini pengingat ke-2." in text_of(reminder)
    [escalated] = await mailbox.wait_for(coordinator["email"])
    assert escalated["Subject"] == f"Eskalasi aduan {filed.tracking_id} ke {above['name']}"
    [told] = await mailbox.wait_for("warga@example.id")  # the reporter hears of the escalation
    assert told["Subject"] == f"Aduan {filed.tracking_id} dieskalasi ke {above['name']}"


# --- channels -------------------------------------------------------------------------------


async def test_push_and_sms_payloads_reach_their_endpoints(
    people: Runtime, mailbox: Mailbox, push: Receiver, sms: Receiver
) -> None:
    citizen = await account(
        people,
        email="budi@example.id",
        phone="+6281311112222",
        preferences={"sms": True, "push_tokens": ["device-token-1"]},
    )
    filed = await complaint(
        people, reporter_account_id=uuid.UUID(citizen["account_id"]), reporter_email="old@x.id"
    )

    await event(people, EventType.complaint_verified, filed)
    await send_due(people)

    [pushed] = push.received
    assert pushed.headers["authorization"] == f"Bearer {PUSH_TOKEN}"
    assert json.loads(pushed.body) == {
        "message": {
            "token": "device-token-1",
            "notification": {
                "title": f"Aduan {filed.tracking_id} telah diverifikasi",
                "body": f"Aduan {filed.tracking_id} telah diverifikasi dan akan diteruskan ke "
                "instansi yang berwenang.",
            },
            "data": {"kind": "verified", "tracking_id": filed.tracking_id},
        }
    }
    [texted] = sms.received
    assert texted.headers["x-api-key"] == SMS_KEY
    body = json.loads(texted.body)
    assert body["to"] == "+6281311112222"
    assert filed.tracking_id in body["text"]
    # The account's address, not the one typed into the complaint.
    assert len(await mailbox.wait_for("budi@example.id")) == 1
    assert mailbox.to("old@x.id") == []


async def test_english_when_the_account_chose_it(people: Runtime, mailbox: Mailbox) -> None:
    citizen = await account(people, email="ann@example.id", preferences={"language": "en"})
    filed = await complaint(people, reporter_account_id=uuid.UUID(citizen["account_id"]))

    await event(people, EventType.complaint_resolved, filed)
    await send_due(people)

    [email] = await mailbox.wait_for("ann@example.id")
    assert email["Subject"] == f"Complaint {filed.tracking_id} resolved"
    assert "Thank you for helping to watch over public services." in text_of(email)


async def test_a_channel_that_is_not_configured_is_skipped_with_a_log_line(
    runtime: Runtime, mailbox: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    only_email = with_channels(runtime, smtp_host="127.0.0.1", smtp_port=mailbox.port)
    citizen = await account(
        only_email,
        email="sari@example.id",
        preferences={"sms": True, "push_tokens": ["device-token-2"]},
    )
    filed = await complaint(only_email, reporter_account_id=uuid.UUID(citizen["account_id"]))

    with caplog.at_level(logging.INFO, logger="notifications.people.service"):
        await event(only_email, EventType.complaint_followed_up, filed)
    await send_due(only_email)

    assert [(m.channel, m.status) for m in await messages(only_email)] == [("email", "sent")]
    assert len(await mailbox.wait_for("sari@example.id")) == 1
    logged = caplog.text
    assert "push is not configured: 1 followed_up message(s) skipped" in logged
    assert "sms is not configured: 1 followed_up message(s) skipped" in logged
    assert "device-token-2" not in logged and "+62" not in logged


async def test_a_failing_smtp_server_is_retried_and_the_email_arrives_later(
    people: Runtime, mailbox: Mailbox
) -> None:
    filed = await complaint(people, reporter_email="sabar@example.id")
    mailbox.fail_next = 2

    await event(people, EventType.complaint_submitted, filed)
    await send_due(people)
    [waiting] = await messages(people)
    assert (waiting.status, waiting.attempts, waiting.last_error) == ("pending", 1, "SMTP 451")
    await send_due(people, rounds=2)

    [email] = await mailbox.wait_for("sabar@example.id")
    assert filed.tracking_id in email["Subject"]
    assert mailbox.refused == 2
    [sent] = await messages(people)
    assert (sent.status, sent.attempts) == ("sent", 3)


async def test_a_refusal_for_good_is_not_retried(people: Runtime, sms: Receiver) -> None:
    sms.default = 400
    filed = await complaint(people, reporter_email=None, reporter_phone="+6281200001111")

    await event(people, EventType.complaint_submitted, filed)
    await send_due(people, rounds=2)

    assert len(sms.received) == 1
    [dead] = await messages(people)
    assert (dead.channel, dead.status, dead.attempts) == ("sms", "dead", 1)
    assert dead.last_error == "sms answered 400"


# --- whom -----------------------------------------------------------------------------------


async def test_a_reporter_without_an_account_is_told_only_through_the_contact_given(
    people: Runtime, mailbox: Mailbox, sms: Receiver
) -> None:
    silent = await complaint(people, reporter_email=None, reporter_phone=None, anonymous=True)
    by_phone = await complaint(people, reporter_email=None, reporter_phone="+6285700002222")

    await event(people, EventType.complaint_submitted, silent)
    await event(people, EventType.complaint_submitted, by_phone)
    await send_due(people)

    assert [(m.complaint_id, m.channel) for m in await messages(people)] == [(by_phone.id, "sms")]
    assert [json.loads(r.body)["to"] for r in sms.received] == ["+6285700002222"]
    assert mailbox.messages == []


async def test_followers_get_the_same_messages_as_the_reporter(
    people: Runtime, mailbox: Mailbox
) -> None:
    follower = await account(people, email="tetangga@example.id", preferences={"push": False})
    filed = await complaint(people, reporter_email="warga@example.id")
    async with people.sessionmaker() as session:
        followed = await factories.add_event(
            session,
            "complaint.followed",
            complaint=filed,
            data={"tracking_id": filed.tracking_id, "account_id": follower["account_id"]},
        )
        await session.commit()
    await fan_out(people, EventEnvelope.of(followed))

    await event(people, EventType.complaint_resolved, filed)
    await send_due(people)

    [to_reporter] = await mailbox.wait_for("warga@example.id")
    [to_follower] = await mailbox.wait_for("tetangga@example.id")
    assert (
        to_reporter["Subject"]
        == to_follower["Subject"]
        == (f"Aduan {filed.tracking_id} telah selesai")
    )


async def test_a_follow_recorded_while_no_channel_is_set_up_still_counts_later(
    runtime: Runtime, people: Runtime, mailbox: Mailbox
) -> None:
    # `runtime` has no channel configured: the worker plans no message, but must keep the
    # follower, so that once email is set up the follower hears of the complaint.
    follower = await account(runtime, email="tetangga@example.id", preferences={"push": False})
    filed = await complaint(runtime, reporter_email=None, reporter_phone=None)
    await event(runtime, EventType.complaint_followed, filed, account_id=follower["account_id"])

    await event(people, EventType.complaint_resolved, filed)
    await send_due(people)

    [to_follower] = await mailbox.wait_for("tetangga@example.id")
    assert to_follower["Subject"] == f"Aduan {filed.tracking_id} telah selesai"


async def test_a_duplicates_reporter_and_followers_hear_of_the_original(
    people: Runtime, mailbox: Mailbox
) -> None:
    reporter = await account(people, email="pelapor@example.id", preferences={"push": False})
    follower = await account(people, email="tetangga@example.id", preferences={"push": False})
    original = await complaint(people, reporter_email="pertama@example.id")
    duplicate = await complaint(
        people, reporter_account_id=uuid.UUID(reporter["account_id"]), reporter_email=None
    )
    await event(people, EventType.complaint_followed, duplicate, account_id=follower["account_id"])

    await event(
        people, EventType.complaint_marked_duplicate, duplicate, duplicate_of=original.tracking_id
    )
    await event(people, EventType.complaint_resolved, original)
    await send_due(people)

    subject = f"Aduan {original.tracking_id} telah selesai"
    for address in ("pertama@example.id", "pelapor@example.id", "tetangga@example.id"):
        [email] = await mailbox.wait_for(address)
        assert email["Subject"] == subject, address


async def test_account_events_never_reach_webhooks(people: Runtime) -> None:
    endpoint = await add_endpoint(people)  # no filters: every event type
    filed = await complaint(people)

    await account(people, email="privat@example.id")
    await event(people, EventType.complaint_submitted, filed)

    async with people.sessionmaker() as session:
        delivered = await session.scalars(
            select(WebhookDelivery.event_id).where(WebhookDelivery.endpoint_id == endpoint.id)
        )
        assert len(list(delivered)) == 1  # the complaint's, not the account's


async def test_a_deactivated_staff_member_is_no_longer_emailed(
    people: Runtime, mailbox: Mailbox
) -> None:
    target = await agency(people)
    liaison = await account(
        people, EventType.account_staff_created, role="liaison", agency_id=uuid.UUID(target["id"])
    )
    await event(
        people,
        EventType.account_deactivated,
        account_id=liaison["account_id"],
        role="liaison",
    )
    filed = await complaint(people, reporter_email=None, reporter_phone=None)

    await event(people, EventType.complaint_dispositioned, filed, agencies=[target])

    assert await messages(people) == []


# --- crons ----------------------------------------------------------------------------------


async def test_the_reporter_hears_two_working_days_before_the_reply_window_closes(
    people: Runtime, mailbox: Mailbox
) -> None:
    now = datetime.now(UTC)
    closing = await complaint(people, status="responded", reporter_email="a@example.id")
    later = await complaint(people, status="responded", reporter_email="b@example.id")
    async with people.sessionmaker() as session:
        await factories.add_clock(
            session,
            closing,
            kind="reply_window",
            due_in=add_working_days(now, 2, "Asia/Jakarta") - now - HOUR,
        )
        await factories.add_clock(
            session,
            later,
            kind="reply_window",
            due_in=add_working_days(now, 3, "Asia/Jakarta") - now - HOUR,
        )
        await session.commit()

    assert await reply_windows_closing({"runtime": people}) == 1
    assert await reply_windows_closing({"runtime": people}) == 0  # once per window
    await send_due(people)

    [email] = await mailbox.wait_for("a@example.id")
    assert email["Subject"] == (
        f"Batas waktu tanggapan aduan {closing.tracking_id}: 2 hari kerja lagi"
    )
    assert mailbox.to("b@example.id") == []


async def test_staff_who_opted_in_get_a_daily_digest_of_what_is_due(
    people: Runtime, mailbox: Mailbox
) -> None:
    target = await agency(people)
    agency_id = uuid.UUID(target["id"])
    keen = await account(
        people,
        EventType.account_staff_created,
        role="coordinator",
        agency_id=agency_id,
        preferences={"daily_digest": True},
    )
    quiet = await account(
        people, EventType.account_staff_created, role="liaison", agency_id=agency_id
    )
    now = datetime.now(UTC)
    due = await complaint(people, status="in_progress")
    async with people.sessionmaker() as session:
        await factories.assign(session, due, AGENCY)
        await factories.add_clock(
            session,
            due,
            kind="completion",
            agency_id=agency_id,
            due_in=add_working_days(now, 1, "Asia/Jakarta") - now - HOUR,
        )
        await session.commit()

    assert await daily_digest({"runtime": people}) == 1
    await send_due(people)

    [email] = await mailbox.wait_for(keen["email"])
    assert email["Subject"] == "Ringkasan harian: 1 aduan jatuh tempo"
    assert f"- {due.tracking_id}: completion, tenggat" in text_of(email)
    assert mailbox.to(quiet["email"]) == []


@pytest.fixture
async def committed_people(committed_runtime: Runtime) -> AsyncIterator[Runtime]:
    """`committed_runtime`, and this module's tables emptied afterwards too."""
    yield committed_runtime
    async with committed_runtime.engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {PEOPLE_TABLES}"))


async def test_a_hanging_smtp_server_does_not_delay_webhooks(
    committed_people: Runtime, receiver: Receiver
) -> None:
    """The dispatcher and the sender run side by side, as in the worker: while the email's
    attempt hangs on an SMTP server that never answers, the webhook goes out."""
    async with hanging_receiver() as smtp:
        runtime = with_channels(
            committed_people,
            smtp_host="127.0.0.1",
            smtp_port=smtp.port,
            people_send_timeout_seconds=30.0,
        )
        await add_endpoint(runtime, receiver.url)
        filed = await complaint(runtime, reporter_email="sabar@example.id")
        sender = PeopleSender(
            runtime, build_channels(runtime.settings), SenderConfig.from_settings(runtime.settings)
        )
        async with Dispatcher(runtime, fast_config(runtime.settings)):
            await sender.start()
            try:
                await event(runtime, EventType.complaint_submitted, filed)

                async def email_hanging() -> bool:
                    return smtp.connections >= 1

                await until(email_hanging)
                await receiver.wait_for(1, seconds=20)
                [email] = await messages(runtime)
                assert (email.status, email.attempts, email.sent_at) == ("pending", 0, None)
            finally:
                await sender.stop()


async def test_finished_messages_are_forgotten_after_the_retention(
    people: Runtime, mailbox: Mailbox, sms: Receiver
) -> None:
    sms.default = 400  # the SMS is given up at once
    by_email = await complaint(people, reporter_email="lama@example.id")
    by_phone = await complaint(people, reporter_email=None, reporter_phone="+6281200003333")
    await event(people, EventType.complaint_submitted, by_email)
    await event(people, EventType.complaint_submitted, by_phone)
    await send_due(people)
    waiting = await complaint(people, reporter_email="baru@example.id")
    await event(people, EventType.complaint_submitted, waiting)
    async with people.sessionmaker() as session:
        await session.execute(
            update(PersonMessage).values(created_at=func.now() - timedelta(days=31))
        )
        await session.commit()

    assert await forget_old_messages({"runtime": people}) == 2

    # The one still waiting to go stays, however old.
    assert [(m.complaint_id, m.status) for m in await messages(people)] == [(waiting.id, "pending")]


# --- webhook endpoints' owners --------------------------------------------------------------

NOTIFICATIONS = system("notifications")


async def webhook_event(runtime: Runtime, type_: EventType, **data: Any) -> EventEnvelope:
    """A webhook.* event as the dispatcher records it (notifications.service), handed to the
    notifications job."""
    async with runtime.sessionmaker() as session:
        recorded = record_event(session, type_, actor=NOTIFICATIONS, data=data)
        await session.commit()
        take_pending(session)
    envelope = EventEnvelope.of(recorded)
    assert await fan_out(runtime, envelope) == "processed"
    return envelope


def owner_of(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "endpoint_id": str(endpoint.id),
        "owner_kind": endpoint.owner_kind,
        "owner_ref": endpoint.owner_ref,
    }


def exhausted(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return owner_of(endpoint) | {
        "delivery_id": str(factories.new_id()),
        "event_id": str(factories.new_id()),
        "event_type": "complaint.dispositioned",
        "attempts": 8,
        "last_status_code": 500,
        "last_error": "HTTP 500",
        "url": endpoint.url,
        "failing_since": "2026-11-30T01:00:00+00:00",
    }


async def test_an_agency_endpoint_disabled_is_told_to_its_coordinator_and_the_admins(
    people: Runtime, mailbox: Mailbox
) -> None:
    target = await agency(people)
    other = await agency(people, "pemprov-11")
    coordinator = await account(
        people,
        EventType.account_staff_created,
        role="coordinator",
        agency_id=uuid.UUID(target["id"]),
    )
    elsewhere = await account(
        people,
        EventType.account_staff_created,
        role="coordinator",
        agency_id=uuid.UUID(other["id"]),
    )
    admin = await account(people, EventType.account_staff_created, role="admin")
    citizen = await account(people)
    endpoint = await add_endpoint(
        people,
        "https://sp4n.acehselatankab.go.id/hooks?token=rahasia-penerima",
        owner_kind="agency",
        owner_ref=target["id"],
    )

    await webhook_event(
        people,
        EventType.webhook_endpoint_disabled,
        **owner_of(endpoint),
        reason="failing",
        url=endpoint.url,
        failing_since="2026-11-26T03:00:00+00:00",
    )
    await send_due(people)

    shown = "https://sp4n.acehselatankab.go.id/hooks?…"
    for person in (coordinator, admin):
        [email] = await mailbox.wait_for(person["email"])
        assert email["Subject"] == f"Webhook Aduan dinonaktifkan: {shown}"
        text = text_of(email)
        assert "tidak ada pengiriman yang berhasil sejak 26-11-2026 10:00 WIB" in text
        assert f"POST /api/v1/webhooks/endpoints/{endpoint.id}/recover" in text
        assert f"PATCH /api/v1/webhooks/endpoints/{endpoint.id}" in text
        # Neither the query string (a receiver may keep a token there) nor the signing secret.
        seen = f"{email['Subject']}\n{text}\n{html_of(email)}"
        assert "rahasia-penerima" not in seen and endpoint.secret not in seen
    assert mailbox.to(elsewhere["email"]) == mailbox.to(citizen["email"]) == []
    assert {m.channel for m in await messages(people)} == {"email"}


async def test_a_regional_systems_endpoint_disabled_is_told_to_the_admins(
    people: Runtime, mailbox: Mailbox
) -> None:
    first = await account(people, EventType.account_staff_created, role="admin")
    second = await account(
        people, EventType.account_staff_created, role="admin", preferences={"language": "en"}
    )
    coordinator = await account(
        people,
        EventType.account_staff_created,
        role="coordinator",
        agency_id=uuid.UUID((await agency(people))["id"]),
    )
    endpoint = await add_endpoint(
        people,
        "https://lapor.acehprov.go.id/aduan",
        owner_kind="regional_system",
        owner_ref="api_key:k-aceh",
    )

    await webhook_event(
        people,
        EventType.webhook_endpoint_disabled,
        **owner_of(endpoint),
        reason="gone",
        url=endpoint.url,
        failing_since=None,
    )
    await send_due(people)

    [indonesian] = await mailbox.wait_for(first["email"])
    assert (
        indonesian["Subject"] == "Webhook Aduan dinonaktifkan: https://lapor.acehprov.go.id/aduan"
    )
    assert "penerima menjawab 410 Gone" in text_of(indonesian)
    [english] = await mailbox.wait_for(second["email"])
    assert english["Subject"] == "Aduan webhook disabled: https://lapor.acehprov.go.id/aduan"
    assert "the receiver answered 410 Gone" in text_of(english)
    assert mailbox.to(coordinator["email"]) == []


async def test_dead_letters_of_one_endpoint_email_each_person_once_a_day(
    people: Runtime, mailbox: Mailbox
) -> None:
    target = await agency(people)
    coordinator = await account(
        people,
        EventType.account_staff_created,
        role="coordinator",
        agency_id=uuid.UUID(target["id"]),
    )
    admin = await account(people, EventType.account_staff_created, role="admin")
    failing = await add_endpoint(
        people, "https://sp4n.example.go.id/a", owner_kind="agency", owner_ref=target["id"]
    )
    also_failing = await add_endpoint(
        people, "https://sp4n.example.go.id/b", owner_kind="agency", owner_ref=target["id"]
    )

    await webhook_event(people, EventType.webhook_delivery_exhausted, **exhausted(failing))
    await webhook_event(people, EventType.webhook_delivery_exhausted, **exhausted(failing))
    await webhook_event(people, EventType.webhook_delivery_exhausted, **exhausted(also_failing))
    await send_due(people)

    for person in (coordinator, admin):
        emails = await mailbox.wait_for(person["email"], count=2)
        assert sorted(e["Subject"] for e in emails) == [
            "Pengiriman webhook Aduan gagal: https://sp4n.example.go.id/a",
            "Pengiriman webhook Aduan gagal: https://sp4n.example.go.id/b",
        ]
        text = text_of(emails[0])
        assert "gagal pada semua 8 percobaan (terakhir: HTTP 500)" in text
        assert "sejak 30-11-2026 08:00 WIB" in text
    assert len(await messages(people)) == 4
