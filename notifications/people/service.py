"""Notifications to people: keep the contact directory, and turn events (and the crons' findings)
into rendered messages waiting for the sender. Never commits: the job wrapper, the request
dependency or the cron's unit of work does.

Whom to tell:
- the reporter: an account (filed signed in) through the channels of its preferences, in its
  language, at the address its account events gave (falling back to the contact given with the
  complaint); a reporter without an account only through the contact given at submission, if
  any. Followers (`complaint.followed`) get the same messages as the reporter;
- agency staff (coordinators and liaisons of the agencies concerned): an email;
- a webhook endpoint's people when Aduan disables it or one of its deliveries is dead-lettered:
  an agency owner's coordinators and liaisons, and the national admins (who also speak for a
  regional system's key, which has no person): an email, for dead letters at most one per
  endpoint, person and day (WIB).
A channel that is not configured is skipped with a log line (no address in it).
"""

import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from notifications.people.channels import Channels
from notifications.people.domain import (
    ADMIN_ROLES,
    DIRECTORY_EVENTS,
    ENDPOINT_KINDS,
    FOLLOWED,
    INBOX_ROLES,
    MARKED_DUPLICATE,
    REPORTER_KINDS,
    STAFF_KINDS,
    UNFOLLOWED,
    ChannelName,
    Language,
    MessageKind,
    Preferences,
    Recipient,
    account_recipient,
    agencies_concerned,
    owner_agency,
    shown_url,
    submission_recipient,
)
from notifications.people.repository import (
    ComplaintReadRepository,
    DirectoryRepository,
    MessageRepository,
)
from notifications.people.templates import render
from services.domain.calendar import add_working_days, zone
from services.events.catalogue import EventType
from services.events.envelope import EventEnvelope
from services.logging import get_logger
from services.models import NotificationContact, NotificationPreference

log = get_logger(__name__)
DEFAULT_TIMEZONE = "Asia/Jakarta"
CLOSING_WORKING_DAYS = 2  # the reporter is told this many working days before the window closes
DUE_SOON_WORKING_DAYS = 2  # the digest lists what is due within this many working days


def preferences_of(row: NotificationPreference | None) -> Preferences:
    if row is None:
        return Preferences()
    return Preferences(
        language=Language(row.language),
        email=row.email,
        push=row.push,
        sms=row.sms,
        push_tokens=tuple(row.push_tokens),
        daily_digest=row.daily_digest,
    )


def local_time(moment: datetime | str, timezone: str) -> str:
    """How a person reads a deadline: local date and time with the zone's abbreviation."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    local = moment.astimezone(zone(timezone))
    abbreviation = {"Asia/Jakarta": "WIB", "Asia/Makassar": "WITA", "Asia/Jayapura": "WIT"}
    return f"{local:%d-%m-%Y %H:%M} {abbreviation.get(timezone, local.tzname() or '')}".strip()


def local_date(moment: datetime, timezone: str) -> str:
    return f"{moment.astimezone(zone(timezone)):%d-%m-%Y}"


@dataclass(frozen=True)
class Planned:
    """One message about to be stored: what it is about, whom it is for, what it says."""

    key: str  # the event id, or the cron's key
    kind: MessageKind
    recipient: Recipient
    context: dict[str, Any]
    event_id: uuid.UUID | None = None
    complaint_id: uuid.UUID | None = None
    email_only: bool = False


class PeopleService:
    def __init__(self, session: AsyncSession, channels: Channels) -> None:
        self.channels = channels
        self.directory = DirectoryRepository(session)
        self.complaints = ComplaintReadRepository(session)
        self.messages = MessageRepository(session)

    @property
    def any_channel_configured(self) -> bool:
        return any(channel.configured for channel in self.channels.values())

    # --- events ------------------------------------------------------------------------------

    async def on_event(self, event: EventEnvelope) -> int:
        """How many messages the event planned."""
        data = event.data
        if event.type in {EventType.account_registered, EventType.account_staff_created}:
            await self.directory.upsert_contact(
                account_id=uuid.UUID(data["account_id"]),
                role=data["role"],
                name=data.get("name") or "",
                email=data.get("email"),
                phone=data.get("phone"),
                agency_id=uuid.UUID(data["agency_id"]) if data.get("agency_id") else None,
                active=True,
            )
            return 0
        if event.type == EventType.account_deactivated:
            await self.directory.deactivate_contact(uuid.UUID(data["account_id"]))
            return 0
        if event.complaint_id is not None and event.type in DIRECTORY_EVENTS:
            # The followers are kept with or without a channel: one may be set up later.
            await self._follow(event.complaint_id, event.type, data)
            return 0
        if not self.any_channel_configured:
            # Nothing could be sent: finding the recipients would be wasted queries per event.
            return 0
        if event.type in ENDPOINT_KINDS:
            return await self._store(await self._for_endpoint_owner(event))
        if event.complaint_id is None:
            return 0
        planned: list[Planned] = []
        if event.type in REPORTER_KINDS:
            planned += await self._for_reporter(event)
        if event.type in STAFF_KINDS:
            planned += await self._for_staff(event)
        return await self._store(planned)

    async def _follow(self, complaint_id: uuid.UUID, kind: str, data: dict[str, Any]) -> None:
        if kind == FOLLOWED and data.get("account_id"):
            await self.directory.follow(complaint_id, uuid.UUID(str(data["account_id"])))
        elif kind == UNFOLLOWED and data.get("account_id"):
            await self.directory.unfollow(complaint_id, uuid.UUID(str(data["account_id"])))
        elif kind == MARKED_DUPLICATE and data.get("duplicate_of"):
            original = await self.complaints.id_of(str(data["duplicate_of"]))
            reporter = await self.complaints.reporter(complaint_id)
            if original is None or reporter is None:
                return
            # A reporter without an account is told through the contact given with its own
            # complaint only: an address is not carried over to another complaint.
            accounts = [reporter.account_id, *await self.directory.followers(complaint_id)]
            for account_id in dict.fromkeys(a for a in accounts if a is not None):
                await self.directory.follow(original, account_id)

    async def _for_reporter(self, event: EventEnvelope) -> list[Planned]:
        assert event.complaint_id is not None
        kind = REPORTER_KINDS[event.type]
        data = event.data
        context: dict[str, Any] = {"tracking_id": data.get("tracking_id", "")}
        if kind is MessageKind.dispositioned:
            names = [a.get("name", "") for a in data.get("agencies") or [] if isinstance(a, dict)]
            context["agencies"] = ", ".join(n for n in names if n) or "instansi berwenang"
        elif kind is MessageKind.escalated:
            target = data.get("to") or {}
            context["agency"] = target.get("name", "") if isinstance(target, dict) else ""
        return [
            Planned(str(event.id), kind, r, context, event.id, event.complaint_id)
            for r in await self.reporter_recipients(event.complaint_id)
        ]

    async def reporter_recipients(self, complaint_id: uuid.UUID) -> list[Recipient]:
        """The reporter and the followers of a complaint, each once."""
        reporter = await self.complaints.reporter(complaint_id)
        if reporter is None:
            return []
        followers = await self.directory.followers(complaint_id)
        accounts = [a for a in [reporter.account_id, *followers] if a is not None]
        preferences = await self.directory.preferences(accounts)
        recipients: list[Recipient] = []
        if reporter.account_id is None:
            found = submission_recipient(complaint_id, reporter.email, reporter.phone)
            if found is not None:
                recipients.append(found)
        for account_id in dict.fromkeys(accounts):
            contact = await self.directory.contact(account_id)
            if contact is not None and not contact.active:
                continue
            email, phone = (contact.email, contact.phone) if contact is not None else (None, None)
            if account_id == reporter.account_id:
                # Until its account event arrives, the contact given with the complaint.
                email, phone = email or reporter.email, phone or reporter.phone
            elif contact is None:
                continue
            recipients.append(
                account_recipient(
                    account_id, email, phone, preferences_of(preferences.get(account_id))
                )
            )
        return recipients

    async def _for_staff(self, event: EventEnvelope) -> list[Planned]:
        kind = STAFF_KINDS[event.type]
        data = event.data
        agency_ids = agencies_concerned(event.type, data)
        agencies = await self.complaints.agencies(agency_ids)
        staff = await self.directory.staff_of(agency_ids, INBOX_ROLES)
        preferences = await self.directory.preferences([s.account_id for s in staff])
        planned = []
        for member in staff:
            assert member.agency_id is not None
            name, timezone = agencies.get(member.agency_id, ("", DEFAULT_TIMEZONE))
            context: dict[str, Any] = {
                "tracking_id": data.get("tracking_id", ""),
                "agency": name,
                "title": data.get("title"),
                "clock": data.get("clock", ""),
                "due": local_time(data["due_at"], timezone) if data.get("due_at") else "",
                "reminder": data.get("reminder", 1),
                "level": data.get("level", ""),
            }
            recipient = staff_recipient(member, preferences_of(preferences.get(member.account_id)))
            if recipient is not None:
                planned.append(
                    Planned(
                        str(event.id),
                        kind,
                        recipient,
                        context,
                        event.id,
                        event.complaint_id,
                        email_only=True,
                    )
                )
        return planned

    async def _for_endpoint_owner(self, event: EventEnvelope) -> list[Planned]:
        kind = ENDPOINT_KINDS[event.type]
        data = event.data
        agency_id = owner_agency(data)
        staff = await self.directory.staff_of([agency_id], INBOX_ROLES) if agency_id else []
        admins = await self.directory.with_roles(ADMIN_ROLES)
        people = list({c.account_id: c for c in [*staff, *admins]}.values())  # each once
        preferences = await self.directory.preferences([p.account_id for p in people])
        endpoint_id = str(data.get("endpoint_id", ""))
        since = data.get("failing_since")
        context: dict[str, Any] = {
            "endpoint_id": endpoint_id,
            "url": shown_url(str(data.get("url") or "")) if data.get("url") else "",
            "reason": data.get("reason", ""),
            "since": local_time(str(since), DEFAULT_TIMEZONE) if since else "",
            "event_type": data.get("event_type") or "",
            "attempts": data.get("attempts") or 0,
            "last_error": data.get("last_error") or "",
        }
        # A receiver failing all day dead-letters many deliveries: one email a day is enough.
        key = (
            f"{endpoint_id}@{local_date(event.occurred_at, DEFAULT_TIMEZONE)}"
            if kind is MessageKind.endpoint_exhausted
            else str(event.id)
        )
        planned = []
        for person in people:
            recipient = staff_recipient(person, preferences_of(preferences.get(person.account_id)))
            if recipient is not None:
                planned.append(Planned(key, kind, recipient, context, event.id, email_only=True))
        return planned

    # --- crons -------------------------------------------------------------------------------

    async def reply_windows_closing(self, now: datetime) -> int:
        """Tell reporters whose reply window closes within 2 working days (once per window)."""
        # Time zones differ by up to two hours: a bound one working day wider, then exact.
        bound = add_working_days(now, CLOSING_WORKING_DAYS + 1, DEFAULT_TIMEZONE)
        planned: list[Planned] = []
        for window in await self.complaints.reply_windows_closing(after=now, until=bound):
            if window.due_at > add_working_days(now, CLOSING_WORKING_DAYS, window.timezone):
                continue
            context = {
                "tracking_id": window.tracking_id,
                "closes_on": local_date(window.due_at, window.timezone),
            }
            key = f"{window.clock_id}@{window.due_at.timestamp():.0f}"
            planned += [
                Planned(key, MessageKind.reply_closing, r, context, None, window.complaint_id)
                for r in await self.reporter_recipients(window.complaint_id)
            ]
        return await self._store(planned)

    async def daily_digest(self, now: datetime) -> int:
        """Staff who opted in: what their agency has due within 2 working days, or overdue."""
        planned: list[Planned] = []
        subscribers = await self.directory.digest_subscribers(INBOX_ROLES)
        agencies = await self.complaints.agencies(
            [s.agency_id for s in subscribers if s.agency_id is not None]
        )
        preferences = await self.directory.preferences([s.account_id for s in subscribers])
        for member in subscribers:
            assert member.agency_id is not None
            _, timezone = agencies.get(member.agency_id, ("", DEFAULT_TIMEZONE))
            until = add_working_days(now, DUE_SOON_WORKING_DAYS, timezone)
            items = await self.complaints.due_for_agencies([member.agency_id], until)
            recipient = staff_recipient(member, preferences_of(preferences.get(member.account_id)))
            if not items or recipient is None:
                continue
            context = {
                "items": [
                    {
                        "tracking_id": item.tracking_id,
                        "clock": item.clock,
                        "due": local_time(item.due_at, item.timezone),
                    }
                    for item in items
                ]
            }
            key = f"digest-{local_date(now, timezone)}"
            planned.append(Planned(key, MessageKind.digest, recipient, context, email_only=True))
        return await self._store(planned)

    # --- storing -----------------------------------------------------------------------------

    async def _store(self, planned: Sequence[Planned]) -> int:
        rows: list[dict[str, Any]] = []
        skipped: dict[tuple[ChannelName, MessageKind], int] = {}
        for item in planned:
            addresses = item.recipient.addresses()
            if item.email_only:
                addresses = [(c, a) for c, a in addresses if c is ChannelName.email]
            if not addresses:
                continue
            rendered = render(item.kind, item.recipient.language, item.context)
            for channel, address in addresses:
                if not self.channels[channel].configured:
                    skipped[channel, item.kind] = skipped.get((channel, item.kind), 0) + 1
                    continue
                digest = hashlib.sha256(address.encode()).hexdigest()[:16]
                rows.append(
                    {
                        "dedup_key": f"{item.key}:{item.kind}:{channel}:{item.recipient.key}:"
                        f"{digest}",
                        "kind": item.kind.value,
                        "channel": channel.value,
                        "recipient": address,
                        "event_id": item.event_id,
                        "complaint_id": item.complaint_id,
                        "language": item.recipient.language.value,
                        "subject": rendered.subject,
                        "body_text": rendered.text
                        if channel is ChannelName.email
                        else rendered.short,
                        "body_html": rendered.html if channel is ChannelName.email else None,
                        "data": {
                            "kind": item.kind.value,
                            "tracking_id": str(item.context.get("tracking_id", "")),
                        },
                    }
                )
        for (channel, kind), count in skipped.items():
            log.info("people: %s is not configured: %d %s message(s) skipped", channel, count, kind)
        return await self.messages.add(rows)


def staff_recipient(member: NotificationContact, preferences: Preferences) -> Recipient | None:
    if not member.email or not preferences.email:
        return None
    return Recipient(
        key=f"account:{member.account_id}", language=preferences.language, email=member.email
    )
