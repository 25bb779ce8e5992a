"""Pure rules of notifications to people: which messages an event makes, for whom, over which
channels, and when a failed message is tried again."""

import enum
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from services.events.catalogue import EventType
from services.queue import backoff


class ChannelName(enum.StrEnum):
    email = "email"
    push = "push"
    sms = "sms"


class MessageStatus(enum.StrEnum):
    pending = "pending"  # waiting for its first or next attempt
    sent = "sent"
    dead = "dead"  # every attempt failed, or the receiver refused it for good


class Language(enum.StrEnum):
    id = "id"
    en = "en"


class MessageKind(enum.StrEnum):
    # To reporters and followers
    received = "received"
    verified = "verified"
    dispositioned = "dispositioned"
    followed_up = "followed_up"
    reply_closing = "reply_closing"
    resolved = "resolved"
    escalated = "escalated"
    # To agency staff
    inbox = "inbox"
    sla_warning = "sla_warning"
    reminder = "reminder"
    staff_escalated = "staff_escalated"
    digest = "digest"
    # To the people of a webhook endpoint's owner, and the national admins
    endpoint_disabled = "endpoint_disabled"
    endpoint_exhausted = "endpoint_exhausted"


# Complaint events that tell the reporter (and followers) something.
REPORTER_KINDS: dict[str, MessageKind] = {
    "complaint.submitted": MessageKind.received,
    "complaint.verified": MessageKind.verified,
    "complaint.dispositioned": MessageKind.dispositioned,
    "complaint.followed_up": MessageKind.followed_up,
    "complaint.resolved": MessageKind.resolved,
    "complaint.escalated": MessageKind.escalated,
}
# Complaint events that tell an agency's staff something: the kind, and where in the event's
# data the agencies concerned are named.
STAFF_KINDS: dict[str, MessageKind] = {
    "complaint.dispositioned": MessageKind.inbox,
    "complaint.delegated": MessageKind.inbox,
    "complaint.sla_warning": MessageKind.sla_warning,
    "complaint.reminder": MessageKind.reminder,
    "complaint.escalated": MessageKind.staff_escalated,
}
# Recorded by intake (the conversation): {account_id}
FOLLOWED = EventType.complaint_followed.value
UNFOLLOWED = EventType.complaint_unfollowed.value
# Recorded by routing's verification: {duplicate_of: tracking id}. The duplicate's reporter (an
# account) and followers then follow the original, whose progress is now theirs to hear of.
MARKED_DUPLICATE = EventType.complaint_marked_duplicate.value
# Complaint events that change the followers, whether or not a channel is set up (one may be
# set up later).
DIRECTORY_EVENTS = frozenset({FOLLOWED, UNFOLLOWED, MARKED_DUPLICATE})

# Roles whose accounts work an agency's inbox.
INBOX_ROLES = ("coordinator", "liaison")

# Webhook events that tell an endpoint's owner (an agency's inbox staff; a regional system's key
# has no person) and the national admins, by email.
ENDPOINT_KINDS: dict[str, MessageKind] = {
    "webhook.endpoint_disabled": MessageKind.endpoint_disabled,
    "webhook.delivery_exhausted": MessageKind.endpoint_exhausted,
}
ADMIN_ROLES = ("admin",)


def owner_agency(data: dict[str, object]) -> uuid.UUID | None:
    """The agency that owns the endpoint a webhook event is about, if an agency does."""
    if data.get("owner_kind") != "agency":
        return None
    try:
        return uuid.UUID(str(data.get("owner_ref")))
    except ValueError:
        return None


def shown_url(url: str) -> str:
    """An endpoint's URL as an email may show it: without user info or query string, where a
    receiver may have put a credential."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    if parts.port:
        host = f"{host}:{parts.port}"
    query = "?…" if parts.query else ""
    return f"{parts.scheme}://{host}{parts.path}{query}" if parts.scheme else url


def agencies_concerned(event_type: str, data: dict[str, object]) -> list[uuid.UUID]:
    """The agencies whose staff a staff event is for."""
    named: object
    if event_type == "complaint.dispositioned" and isinstance(data.get("to_agency"), dict):
        named = [data["to_agency"]]  # re-routed after a return: only the new agency is new
    elif event_type == "complaint.dispositioned":
        named = data.get("agencies") or []
    elif event_type == "complaint.delegated":
        named = [data.get("to_agency")]
    elif event_type == "complaint.escalated":
        named = [data.get("to")]
    else:  # warnings and reminders: the agency whose clock it is
        named = [data.get("agency")]
    ids = []
    for agency in named if isinstance(named, list) else []:
        if isinstance(agency, dict) and agency.get("id"):
            try:
                ids.append(uuid.UUID(str(agency["id"])))
            except ValueError:
                continue
    return list(dict.fromkeys(ids))


@dataclass(frozen=True)
class Preferences:
    language: Language = Language.id
    email: bool = True
    push: bool = True
    sms: bool = False
    push_tokens: tuple[str, ...] = ()
    daily_digest: bool = False


@dataclass(frozen=True)
class Recipient:
    """One person to tell, with the addresses to use and the language to use them in."""

    key: str  # "account:<id>" or "submission:<complaint id>": part of each message's dedup key
    language: Language
    email: str | None = None
    phone: str | None = None
    push_tokens: tuple[str, ...] = field(default=())

    def addresses(self) -> list[tuple[ChannelName, str]]:
        found: list[tuple[ChannelName, str]] = []
        if self.email:
            found.append((ChannelName.email, self.email))
        if self.phone:
            found.append((ChannelName.sms, self.phone))
        found += [(ChannelName.push, token) for token in self.push_tokens]
        return found


def account_recipient(
    account_id: uuid.UUID,
    email: str | None,
    phone: str | None,
    preferences: Preferences,
) -> Recipient:
    """An account, through the channels its preferences allow."""
    return Recipient(
        key=f"account:{account_id}",
        language=preferences.language,
        email=email if preferences.email else None,
        phone=phone if preferences.sms else None,
        push_tokens=preferences.push_tokens if preferences.push else (),
    )


def submission_recipient(
    complaint_id: uuid.UUID, email: str | None, phone: str | None
) -> Recipient | None:
    """A reporter without an account: only the contact given with the complaint, if any. Email
    when there is one; else an SMS to the phone (an SMS costs, an email does not)."""
    if not email and not phone:
        return None
    return Recipient(
        key=f"submission:{complaint_id}",
        language=Language.id,
        email=email or None,
        phone=None if email else phone,
    )


def retry_delay(attempts: int, *, base: float, cap: float) -> float:
    """Seconds to wait after the `attempts`-th failed attempt (full jitter, at least 1 s)."""
    return max(1.0, backoff(attempts, base=base, cap=cap))
