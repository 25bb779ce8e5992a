"""The privacy matrix: anonymous × confidential, for every audience, on every read path intake
serves (the complaint's detail with its timeline, and the reporter's own list). Webhooks are
covered end to end in tests/e2e/test_privacy_webhooks.py.

The expectations are written out by hand from the rules in the issue, not computed from
services.privacy, so a change of the rules has to change this table too.
"""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from intake.main import create_app
from services.principal import ANONYMOUS, Principal, PrincipalKind, Role
from services.privacy import hash_reporter_token
from services.runtime import Runtime
from tests.conftest import service_client
from tests.factories import add_complaint, add_event, agency_id, assign

TOKEN = "rpt_the-reporters-own-token-0123456789abcdef"
REPORTER_ACCOUNT = uuid.uuid4()
CONTENT = ("title", "description", "address", "latitude", "longitude")


@dataclass(frozen=True)
class Sees:
    """What an audience sees: confidential content, the name when the complaint is not
    anonymous, the name when it is, and the contact details."""

    confidential_content: bool
    name: bool
    name_when_anonymous: bool
    contact: bool


NOTHING = Sees(False, False, False, False)
EVERYTHING = Sees(True, True, True, True)

# audience -> (how to build its principal, whether it sends the reporter token, what it sees)
AUDIENCES: dict[str, Sees] = {
    "anonymous stranger": NOTHING,
    "citizen stranger": NOTHING,
    "reporter by account": EVERYTHING,
    "reporter by token": EVERYTHING,
    "a wrong token": NOTHING,
    "assigned office liaison": Sees(True, True, False, False),
    "parent government coordinator": Sees(True, True, False, False),
    "assigned agency key": Sees(True, True, False, False),
    "other agency coordinator": NOTHING,
    "regional system of the region": NOTHING,
    "ops": NOTHING,
    "admin": EVERYTHING,
}


async def principal_for(session: AsyncSession, audience: str) -> tuple[Principal, str | None]:
    office = await agency_id(session, "pemda-11.01")
    province = await agency_id(session, "pemprov-11")
    elsewhere = await agency_id(session, "pemda-11.02")

    def staff(role: Role, agency: uuid.UUID, scope: tuple[uuid.UUID, ...]) -> Principal:
        kind = PrincipalKind.api_key if role is Role.agency else PrincipalKind.user
        return Principal(
            kind=kind, role=role, subject=str(uuid.uuid4()), agency_id=agency, agency_ids=scope
        )

    citizen = Principal(kind=PrincipalKind.user, role=Role.citizen, subject=str(uuid.uuid4()))
    table: dict[str, tuple[Principal, str | None]] = {
        "anonymous stranger": (ANONYMOUS, None),
        "citizen stranger": (citizen, None),
        "reporter by account": (
            citizen.model_copy(update={"subject": str(REPORTER_ACCOUNT)}),
            None,
        ),
        "reporter by token": (ANONYMOUS, TOKEN),
        "a wrong token": (ANONYMOUS, TOKEN + "x"),
        "assigned office liaison": (staff(Role.liaison, office, (office,)), None),
        "parent government coordinator": (
            staff(Role.coordinator, province, (province, office)),
            None,
        ),
        "assigned agency key": (staff(Role.agency, office, (office,)), None),
        "other agency coordinator": (staff(Role.coordinator, elsewhere, (elsewhere,)), None),
        "regional system of the region": (
            Principal(
                kind=PrincipalKind.api_key,
                role=Role.regional_system,
                subject=str(uuid.uuid4()),
                region_codes=("11",),
            ),
            None,
        ),
        "ops": (Principal(kind=PrincipalKind.api_key, role=Role.ops, subject="o"), None),
        "admin": (Principal(kind=PrincipalKind.user, role=Role.admin, subject="a"), None),
    }
    return table[audience]


@pytest.fixture
async def app_client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with service_client(create_app(runtime.settings), runtime) as client:
        yield client


@pytest.mark.parametrize("confidential", [False, True], ids=["public", "confidential"])
@pytest.mark.parametrize("anonymous", [False, True], ids=["named", "anonymous"])
@pytest.mark.parametrize("audience", list(AUDIENCES))
async def test_the_detail_shows_each_audience_what_the_rules_allow(
    runtime: Runtime, session: AsyncSession, audience: str, anonymous: bool, confidential: bool
) -> None:
    complaint = await add_complaint(
        session,
        anonymous=anonymous,
        confidential=confidential,
        reporter_phone="+6281234567890",
        address="Jl. Pasar Bakongan No. 3",
        latitude=Decimal("3.123456"),
        longitude=Decimal("97.654321"),
        reporter_account_id=REPORTER_ACCOUNT,
        reporter_token_hash=hash_reporter_token(TOKEN),
        status="dispositioned",
    )
    await assign(session, complaint, "pemda-11.01")
    principal, token = await principal_for(session, audience)
    headers = {"X-Reporter-Token": token} if token else {}

    async with service_client(create_app(runtime.settings), runtime, principal) as client:
        response = await client.get(f"/api/v1/complaints/{complaint.tracking_id}", headers=headers)

    assert response.status_code == 200, response.text
    body = response.json()
    sees = AUDIENCES[audience]
    content_shown = sees.confidential_content or not confidential
    name_shown = sees.name_when_anonymous if anonymous else sees.name
    for field in CONTENT:
        assert (body[field] is not None) is content_shown, field
    assert ("Jalan berlubang" in response.text) is content_shown
    if name_shown:
        assert body["reporter"]["name"] == "Siti"
    else:
        assert body["reporter"] is None
        assert "Siti" not in response.text
    assert ("siti@example.id" in response.text) is (name_shown and sees.contact)
    assert ("+6281234567890" in response.text) is (name_shown and sees.contact)
    # What was withheld is said, so an app can show "hidden" instead of "empty".
    assert ("description" in body["redacted"]) is (not content_shown)
    # The timeline is there for everyone who may see the complaint at all.
    assert body["timeline"] == [] or all("actor" in e for e in body["timeline"])


@pytest.mark.parametrize("confidential", [False, True], ids=["public", "confidential"])
@pytest.mark.parametrize("audience", list(AUDIENCES))
async def test_the_timeline_shows_each_audience_the_reasons_the_rules_allow(
    runtime: Runtime, session: AsyncSession, audience: str, confidential: bool
) -> None:
    complaint = await add_complaint(
        session,
        anonymous=True,
        confidential=confidential,
        reporter_account_id=REPORTER_ACCOUNT,
        reporter_token_hash=hash_reporter_token(TOKEN),
        status="on_hold",
    )
    await assign(session, complaint, "pemda-11.01")
    await add_event(
        session,
        "complaint.held",
        complaint=complaint,
        data={"status": "on_hold", "reason": "Menunggu keterangan saksi Budi"},
    )
    principal, token = await principal_for(session, audience)
    headers = {"X-Reporter-Token": token} if token else {}

    async with service_client(create_app(runtime.settings), runtime, principal) as client:
        timeline = await client.get(
            f"/api/v1/complaints/{complaint.tracking_id}/timeline", headers=headers
        )
        detail = await client.get(f"/api/v1/complaints/{complaint.tracking_id}", headers=headers)

    assert timeline.status_code == detail.status_code == 200, timeline.text
    shown = AUDIENCES[audience].confidential_content or not confidential
    assert ("saksi Budi" in timeline.text) is shown
    assert ("saksi Budi" in detail.text) is shown
    assert timeline.json()["events"][0]["label"]["id"] == "Laporan ditunda"
    assert ("reason" in timeline.json()["redacted"]) is not shown
    # Who reported an anonymous complaint is never on its timeline.
    assert "Siti" not in timeline.text


async def test_the_reporters_own_list_holds_their_complaints_and_no_one_elses(
    runtime: Runtime, session: AsyncSession
) -> None:
    mine = await add_complaint(session, confidential=True, reporter_account_id=REPORTER_ACCOUNT)
    other = await add_complaint(session, reporter_account_id=uuid.uuid4())
    reporter = Principal(kind=PrincipalKind.user, role=Role.citizen, subject=str(REPORTER_ACCOUNT))

    async with service_client(create_app(runtime.settings), runtime, reporter) as client:
        response = await client.get("/api/v1/me/complaints")

    assert response.status_code == 200, response.text
    listed = [c["tracking_id"] for c in response.json()["items"]]
    assert mine.tracking_id in listed
    assert other.tracking_id not in listed
    # Their own confidential complaint keeps its title in their list.
    assert response.json()["items"][listed.index(mine.tracking_id)]["title"]


@pytest.mark.parametrize(
    "principal",
    [
        ANONYMOUS,
        Principal(kind=PrincipalKind.api_key, role=Role.ops, subject="o"),
        Principal(kind=PrincipalKind.user, role=Role.liaison, subject="l"),
    ],
    ids=["anonymous", "ops", "staff"],
)
async def test_only_citizens_have_a_list_of_their_own(
    runtime: Runtime, principal: Principal
) -> None:
    async with service_client(create_app(runtime.settings), runtime, principal) as client:
        response = await client.get("/api/v1/me/complaints")

    assert response.status_code == (401 if principal is ANONYMOUS else 403)
    assert response.headers["content-type"] == "application/problem+json"
    # A 401 says how to authenticate (RFC 9110 §11.6.1).
    assert ("www-authenticate" in response.headers) is (principal is ANONYMOUS)
