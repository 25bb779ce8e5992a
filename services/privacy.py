"""What each audience may see of a complaint: the one place the privacy rules live.

Every read path (detail, timeline, listings, webhooks, exports, logs) picks the audience of its
reader and lets this module blank what that audience may not see:
- **anonymous** (the reporter asked for it) hides who reported from everyone but the reporter and
  admins;
- **confidential** hides the content from the public and from agencies not assigned to it;
- contact details (email, phone) reach only the reporter and admins: never agencies, ops,
  webhooks or logs.
"""

import enum
import hashlib
import hmac
import uuid
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from services.principal import AGENCY_ROLES, Principal, Role


class Audience(enum.StrEnum):
    public = "public"
    reporter = "reporter"
    assigned_agency = "assigned_agency"
    other_agency = "other_agency"
    regional_system = "regional_system"
    ops = "ops"
    admin = "admin"


CONTENT_FIELDS = ("title", "description", "address", "latitude", "longitude")
CONTACT_FIELDS = ("email", "phone")

# Until webhook endpoints are scoped to the agencies they serve, a receiver is any system.
WEBHOOK_AUDIENCE = Audience.other_agency


@dataclass(frozen=True)
class ComplaintFacts:
    """What the rules need to know about one complaint."""

    anonymous: bool
    confidential: bool
    region_code: str | None  # None: an Open311 request waiting for its region
    agency_ids: Collection[uuid.UUID]  # the agencies assigned now
    reporter_account_id: uuid.UUID | None
    reporter_token_hash: str | None


def hash_reporter_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def is_reporter(principal: Principal, facts: ComplaintFacts, reporter_token: str | None) -> bool:
    if (
        principal.role is Role.citizen
        and facts.reporter_account_id is not None
        and principal.subject == str(facts.reporter_account_id)
    ):
        return True
    if reporter_token and facts.reporter_token_hash:
        return hmac.compare_digest(hash_reporter_token(reporter_token), facts.reporter_token_hash)
    return False


def audience_for(
    principal: Principal, facts: ComplaintFacts, reporter_token: str | None = None
) -> Audience:
    if principal.role is Role.admin:
        return Audience.admin
    if is_reporter(principal, facts, reporter_token):
        return Audience.reporter
    if principal.role in AGENCY_ROLES:
        assigned = any(principal.covers_agency(a) for a in facts.agency_ids)
        return Audience.assigned_agency if assigned else Audience.other_agency
    if principal.role is Role.regional_system:
        return Audience.regional_system
    if principal.role is Role.ops:
        return Audience.ops
    return Audience.public


def shows_content(audience: Audience, confidential: bool) -> bool:
    return not confidential or audience in {
        Audience.reporter,
        Audience.assigned_agency,
        Audience.admin,
    }


def shows_reporter(audience: Audience, anonymous: bool) -> bool:
    """The reporter's name: the assigned agency needs it to follow up, unless anonymous."""
    if audience in {Audience.reporter, Audience.admin}:
        return True
    return audience is Audience.assigned_agency and not anonymous


def shows_contact(audience: Audience) -> bool:
    return audience in {Audience.reporter, Audience.admin}


def redact(
    view: dict[str, Any], audience: Audience, *, anonymous: bool, confidential: bool
) -> dict[str, Any]:
    """`view` with what `audience` may not see set to None, and `redacted` naming it.

    `view` holds the content fields at the top level and the reporter under `reporter`
    (a dict with name, email, phone, or None)."""
    hidden: list[str] = []
    out = dict(view)
    if not shows_content(audience, confidential):
        for field in CONTENT_FIELDS:
            if out.get(field) is not None:
                hidden.append(field)
            if field in out:
                out[field] = None
    reporter = out.get("reporter")
    if reporter is not None:
        if not shows_reporter(audience, anonymous):
            out["reporter"] = None
            hidden.append("reporter")
        elif not shows_contact(audience):
            out["reporter"] = {**reporter, **dict.fromkeys(CONTACT_FIELDS)}
            hidden.extend(f"reporter.{f}" for f in CONTACT_FIELDS if reporter.get(f))
    out["redacted"] = hidden
    return out
