"""The pure rules of notifications to people: whose staff an event is for, and how a reporter
without an account is reached."""

import uuid

from notifications.people.domain import (
    ChannelName,
    Language,
    Preferences,
    account_recipient,
    agencies_concerned,
    submission_recipient,
)
from notifications.people.jobs import people_crons
from services.settings import Settings

A, B, C = (str(uuid.uuid4()) for _ in range(3))


def test_each_staff_event_names_the_agencies_it_is_for() -> None:
    def ids(*values: str) -> list[uuid.UUID]:
        return [uuid.UUID(v) for v in values]

    agencies = [{"id": A, "name": "a"}, {"id": B, "name": "b"}]
    assert agencies_concerned("complaint.dispositioned", {"agencies": agencies}) == ids(A, B)
    # Re-routed after a return: the agencies already on it heard of it before.
    rerouted = {"agencies": agencies, "to_agency": {"id": B}}
    assert agencies_concerned("complaint.dispositioned", rerouted) == ids(B)
    assert agencies_concerned("complaint.delegated", {"to_agency": {"id": C}}) == ids(C)
    assert agencies_concerned("complaint.escalated", {"from": {"id": A}, "to": {"id": C}}) == ids(C)
    assert agencies_concerned("complaint.reminder", {"agency": {"id": A}}) == ids(A)
    # The national admins' verification clock has no agency; bad data names nobody.
    assert agencies_concerned("complaint.sla_warning", {"agency": None}) == []
    assert agencies_concerned("complaint.dispositioned", {"agencies": [{"id": "x"}]}) == []


def test_a_reporter_without_an_account_is_reached_by_email_else_by_sms() -> None:
    complaint = uuid.uuid4()
    both = submission_recipient(complaint, "warga@example.id", "+6281200000000")
    phone = submission_recipient(complaint, None, "+6281200000000")

    assert both is not None and both.addresses() == [(ChannelName.email, "warga@example.id")]
    assert phone is not None and phone.addresses() == [(ChannelName.sms, "+6281200000000")]
    assert submission_recipient(complaint, None, None) is None
    assert both.language is Language.id


def test_an_account_is_reached_through_the_channels_it_chose() -> None:
    chosen = Preferences(
        language=Language.en, email=False, push=True, sms=True, push_tokens=("t1", "t2")
    )

    recipient = account_recipient(uuid.uuid4(), "a@example.id", "+62812", chosen)

    assert recipient.language is Language.en
    assert recipient.addresses() == [
        (ChannelName.sms, "+62812"),
        (ChannelName.push, "t1"),
        (ChannelName.push, "t2"),
    ]


def test_the_crons_are_namespaced_and_the_digest_hour_is_wib() -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        queue_prefix="ns",
        people_digest_hour=7,
        people_reply_window_check_minutes=15,
    )

    reply, digest, forget = people_crons(settings)

    assert (reply.name, digest.name, forget.name) == (
        "ns:reply_windows_closing",
        "ns:daily_digest",
        "ns:forget_old_messages",
    )
    assert reply.minute == {0, 15, 30, 45}
    assert (digest.hour, digest.minute) == ({0}, {0})  # 07:00 WIB is 00:00 UTC
