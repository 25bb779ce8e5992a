"""The authorization matrix: every operation of the merged OpenAPI document, called by every
kind of caller (with an owner and a stranger of the same kind where ownership matters), through
the real gateway and services, against the answer written down here.

An operation added to the document without a row here fails `test_every_operation_has_a_row`.
The expected answers are the policy as people would state it, not read from services.policy:
a change of the policy has to change this table too. An object outside a caller's scope is a
404, the same as one that does not exist.
"""

import io
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from PIL import Image
from sqlalchemy.ext.asyncio import create_async_engine

from services.db import create_sessionmaker
from services.privacy import hash_reporter_token
from services.settings import Settings
from tests.conftest import complaint_payload
from tests.e2e.credentials import Caller, World, make_world, sign_in
from tests.e2e.platform import Platform, isolated_settings, running_platform
from tests.factories import (
    add_account,
    add_api_key,
    add_complaint,
    add_open311_request,
    assign,
)

pytestmark = pytest.mark.e2e


# A platform of its own: the matrix writes accounts and keys into real agencies (pemda-11.01,
# pemprov-11) that other tests count.
@pytest.fixture(scope="module")
def settings(settings: Settings, servers: tuple[str, str]) -> Iterator[Settings]:
    with isolated_settings(settings, servers[0], "matrix") as own:
        yield own


@pytest.fixture(scope="module")
def platform(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_platform(settings, tmp_path_factory.mktemp("matrix-logs")) as running:
        yield running


COLUMNS = (
    "anonymous",
    "reporter_token",  # no account: the complaint's reporter_token
    "citizen",  # the reporter of the complaint below
    "citizen_stranger",
    "admin_staff",
    "bootstrap_admin",  # ADUAN_ADMIN_API_KEY
    "admin_key",
    "coordinator",  # of the province government, parent of the office
    "coordinator_stranger",  # of a government elsewhere
    "liaison",  # of the office
    "agency_key",  # the office's system
    "agency_key_stranger",
    "regional_key",  # region 11 (Aceh), where the complaint is
    "regional_key_stranger",  # region 32
    "ops_key",
)
ADMINS = ("admin_staff", "bootstrap_admin", "admin_key")
ANONYMOUS = ("anonymous", "reporter_token")
STAFF = ("admin_staff", "coordinator", "coordinator_stranger", "liaison")
ACCOUNTS = ("citizen", "citizen_stranger", *STAFF)


def row(otherwise: int, **answers: int) -> dict[str, int]:
    """The answer of every column: `otherwise`, except those named (401 for anonymous callers
    of protected operations is spelled out where it applies)."""
    unknown = set(answers) - set(COLUMNS)
    assert not unknown, unknown
    return {column: answers.get(column, otherwise) for column in COLUMNS}


def protected(allowed: int, who: tuple[str, ...], **others: int) -> dict[str, int]:
    """`who` get `allowed`, anonymous callers 401, everyone else 403 (unless named)."""
    return row(403, **dict.fromkeys(ANONYMOUS, 401), **dict.fromkeys(who, allowed), **others)


EVERYONE_200 = row(200)
# Webhooks (issue 9): who manages endpoints, and whose the endpoint of the calls is.
WEBHOOK_MANAGERS = (
    *ADMINS,
    "coordinator",
    "coordinator_stranger",
    "agency_key",
    "agency_key_stranger",
    "regional_key",
    "regional_key_stranger",
)
WEBHOOK_OWNER = "regional_key"


def owned_endpoint(allowed: int) -> dict[str, int]:
    """Admins and the owner get `allowed`; other managers 404, as if it were not there."""
    strangers = set(WEBHOOK_MANAGERS) - {*ADMINS, WEBHOOK_OWNER}
    return protected(allowed, (*ADMINS, WEBHOOK_OWNER), **dict.fromkeys(strangers, 404))


INBOX_OWNERS = (*ADMINS, "coordinator", "liaison", "agency_key")
INBOX_ACTIONS = (
    ("GET", ""),
    ("POST", "/accept"),
    ("POST", "/follow-ups"),
    ("POST", "/resolve"),
    ("POST", "/return"),
    ("POST", "/hold"),
    ("POST", "/resume"),
)

MATRIX: dict[str, dict[str, int]] = {
    # --- open: the platform's own health and documents
    "GET /healthz": EVERYONE_200,
    "GET /readyz": EVERYONE_200,
    "GET /openapi.json": EVERYONE_200,
    "GET /docs": EVERYONE_200,
    "GET /metrics": protected(200, (*ADMINS, "ops_key")),
    # --- reference data, public
    "GET /api/v1/categories": EVERYONE_200,
    "GET /api/v1/agencies": EVERYONE_200,
    "GET /api/v1/agencies/{agency_id}": EVERYONE_200,
    # --- the directory: national admins only (fresh objects per call, made by the bootstrap
    # admin, so no call changes what other tests route by)
    "POST /api/v1/agencies": protected(201, ADMINS),
    "PATCH /api/v1/agencies/{agency_id}": protected(200, ADMINS),
    "POST /api/v1/agencies/{agency_id}/deactivate": protected(200, ADMINS),
    "GET /api/v1/directory/categories": protected(200, ADMINS),
    "POST /api/v1/directory/categories": protected(201, ADMINS),
    "PATCH /api/v1/directory/categories/{code}": protected(200, ADMINS),
    "GET /api/v1/directory/rules": protected(200, ADMINS),
    "POST /api/v1/directory/rules": protected(201, ADMINS),
    "PATCH /api/v1/directory/rules/{rule_id}": protected(200, ADMINS),
    "DELETE /api/v1/directory/rules/{rule_id}": protected(204, ADMINS),
    # --- complaints: filed by the public, citizens, admins and regional systems (in their
    # own regions); agencies act through the workflow, ops only read.
    "POST /api/v1/complaints": row(
        403,
        **dict.fromkeys((*ANONYMOUS, "citizen", "citizen_stranger", *ADMINS), 201),
        regional_key=201,
    ),
    # Everyone may track a complaint by its id; the privacy matrix decides what they see.
    "GET /api/v1/complaints/{tracking_id}": EVERYONE_200,
    "GET /api/v1/me/complaints": protected(200, ("citizen", "citizen_stranger")),
    # --- accounts
    "POST /api/v1/auth/register": row(403, **dict.fromkeys(ANONYMOUS, 201)),
    # Credentials travel in the body: whoever holds valid ones gets tokens.
    "POST /api/v1/auth/token": EVERYONE_200,
    "POST /api/v1/auth/refresh": EVERYONE_200,
    "POST /api/v1/auth/logout": row(204),
    "GET /api/v1/me": protected(200, ACCOUNTS),
    # The second factor is for staff accounts; a wrong code is a field error.
    "POST /api/v1/me/totp": protected(200, STAFF),
    "POST /api/v1/me/totp/confirm": protected(422, STAFF),
    # --- staff: admins anywhere; coordinators in their agency and its offices
    "POST /api/v1/staff": protected(201, (*ADMINS, "coordinator"), coordinator_stranger=403),
    "GET /api/v1/staff": protected(200, (*ADMINS, "coordinator", "coordinator_stranger")),
    "GET /api/v1/staff/{account_id}": protected(
        200, (*ADMINS, "coordinator"), coordinator_stranger=404
    ),
    "DELETE /api/v1/staff/{account_id}": protected(
        204, (*ADMINS, "coordinator"), coordinator_stranger=404
    ),
    # --- API keys: admins only
    "POST /api/v1/api-keys": protected(201, ADMINS),
    "GET /api/v1/api-keys": protected(200, ADMINS),
    "DELETE /api/v1/api-keys/{key_id}": protected(204, ADMINS),
    # --- webhooks (issue 9): admins manage every endpoint; agencies (coordinators, keys) and
    # regional systems their own, in their own scope. The endpoint and delivery the calls are
    # about belong to the Aceh regional system: every other non-admin gets 404.
    "POST /api/v1/webhooks/endpoints": protected(201, WEBHOOK_MANAGERS),
    "GET /api/v1/webhooks/endpoints": protected(200, WEBHOOK_MANAGERS),
    "GET /api/v1/webhooks/endpoints/{endpoint_id}": owned_endpoint(200),
    "PATCH /api/v1/webhooks/endpoints/{endpoint_id}": owned_endpoint(200),
    "DELETE /api/v1/webhooks/endpoints/{endpoint_id}": owned_endpoint(204),
    "POST /api/v1/webhooks/endpoints/{endpoint_id}/rotate-secret": owned_endpoint(200),
    "POST /api/v1/webhooks/endpoints/{endpoint_id}/ping": owned_endpoint(202),
    "POST /api/v1/webhooks/endpoints/{endpoint_id}/recover": owned_endpoint(200),
    "GET /api/v1/webhooks/endpoints/{endpoint_id}/deliveries": owned_endpoint(200),
    "GET /api/v1/webhooks/deliveries": protected(200, WEBHOOK_MANAGERS),
    "GET /api/v1/webhooks/deliveries/{delivery_id}": owned_endpoint(200),
    # The delivery is still pending (its receiver refuses): a 409 got past the policy.
    "POST /api/v1/webhooks/deliveries/{delivery_id}/redeliver": owned_endpoint(409),
    "GET /api/v1/webhooks/event-types": protected(200, WEBHOOK_MANAGERS),
    # --- ops: ops read, admins act (an unknown failed event: the admin got past the policy)
    "GET /api/v1/ops/failed-events": protected(200, (*ADMINS, "ops_key")),
    "POST /api/v1/ops/failed-events/{consumer}/{event_id}/retry": protected(404, ADMINS),
    # --- the agency inbox: a fresh complaint of the office (pemda-11.01) per call; its staff,
    # its key and the parent's coordinator act, admins anywhere, other agencies get 404.
    **{
        f"{method} /api/v1/agency/complaints/{{tracking_id}}{action}": protected(
            200, INBOX_OWNERS, coordinator_stranger=404, agency_key_stranger=404
        )
        for method, action in INBOX_ACTIONS
    },
    "GET /api/v1/agency/complaints": protected(
        200, (*INBOX_OWNERS, "coordinator_stranger", "agency_key_stranger")
    ),
    # Delegating is a coordinator's (of the province, to its kabupaten): the office's liaison
    # and key do not see the province's complaint.
    "POST /api/v1/agency/complaints/{tracking_id}/delegate": protected(
        200,
        (*ADMINS, "coordinator"),
        **dict.fromkeys(
            ("coordinator_stranger", "agency_key_stranger", "liaison", "agency_key"), 404
        ),
    ),
    # --- verification: national admins anywhere, a coordinator in its agency's region (the
    # province's here); a fresh submitted complaint per call. The dry-run shows rules only.
    "GET /api/v1/verification/complaints": protected(
        200, (*ADMINS, "coordinator", "coordinator_stranger")
    ),
    **{
        f"POST /api/v1/verification/complaints/{{tracking_id}}/{action}": protected(
            200, (*ADMINS, "coordinator"), coordinator_stranger=404
        )
        for action in ("verify", "hold", "resume", "archive", "request-info")
    },
    "POST /api/v1/routing/dry-run": protected(
        200, (*ADMINS, "coordinator", "coordinator_stranger", "ops_key")
    ),
    # --- convo: the conversation. Everyone reads what the privacy rules show; only the
    # reporter (account or token) comments and answers, on a fresh complaint of its own per
    # call; citizens follow; the assigned agency comments; verifiers mark duplicates.
    "GET /api/v1/complaints/{tracking_id}/comments": EVERYONE_200,
    "GET /api/v1/complaints/{tracking_id}/follow-ups": EVERYONE_200,
    **{
        f"POST /api/v1/complaints/{{tracking_id}}/{action}": row(
            403, citizen=answer, reporter_token=answer
        )
        for action, answer in (
            ("comments", 201),
            ("reply", 200),
            ("accept", 200),
            ("rating", 201),
            ("reopen", 200),
        )
    },
    "POST /api/v1/complaints/{tracking_id}/follow": protected(201, ("citizen", "citizen_stranger")),
    "DELETE /api/v1/complaints/{tracking_id}/follow": protected(
        204, ("citizen", "citizen_stranger")
    ),
    "GET /api/v1/me/complaints/following": protected(200, ("citizen", "citizen_stranger")),
    "POST /api/v1/agency/complaints/{tracking_id}/comments": protected(
        201, INBOX_OWNERS, coordinator_stranger=404, agency_key_stranger=404
    ),
    "POST /api/v1/verification/complaints/{tracking_id}/duplicate": protected(
        200, (*ADMINS, "coordinator"), coordinator_stranger=404
    ),
    # --- notifications to people: every account its own preferences (API keys have none)
    "GET /api/v1/me/notification-preferences": protected(200, ACCOUNTS),
    "PUT /api/v1/me/notification-preferences": protected(200, ACCOUNTS),
    # --- Open311: setting the region of a complaint that has none is for national admins
    # (it lies in no coordinator's region); GeoReport reads are public, filing as on the JSON
    # API (a regional key in its own regions), refusals are GeoReport's 403 list.
    "POST /api/v1/verification/complaints/{tracking_id}/region": protected(200, ADMINS),
    "GET /open311/v2/discovery.json": EVERYONE_200,
    "GET /open311/v2/services.json": EVERYONE_200,
    "GET /open311/v2/services/{service_code}.json": EVERYONE_200,
    "POST /open311/v2/requests.json": row(
        403,
        **dict.fromkeys((*ANONYMOUS, "citizen", "citizen_stranger", *ADMINS, "regional_key"), 200),
    ),
    "GET /open311/v2/requests.json": EVERYONE_200,
    "GET /open311/v2/requests/{service_request_id}.json": EVERYONE_200,
    "GET /open311/v2/tokens/{token}.json": EVERYONE_200,
    # --- attachments (issue 8): the reporter attaches to its complaint; agencies and admins
    # get past the policy but attach only to a follow-up (none named here: 422); the files of
    # a public complaint are public, as the complaint is.
    "POST /api/v1/complaints/{tracking_id}/attachments": row(
        403,
        reporter_token=201,
        citizen=201,
        **dict.fromkeys((*INBOX_OWNERS, "coordinator_stranger", "agency_key_stranger"), 422),
    ),
    "GET /api/v1/complaints/{tracking_id}/attachments": EVERYONE_200,
    "GET /api/v1/complaints/{tracking_id}/attachments/{attachment_id}": EVERYONE_200,
    # --- statistics, ops lists and exports (routing/stats): ops and admins; a coordinator sees
    # its own agency's statistics (the office below its province government), not another's.
    **{
        f"GET /api/v1/{path}": protected(200, (*ADMINS, "ops_key"))
        for path in (
            "stats/regions",
            "stats/ranking",
            "stats/trends",
            "ops/complaints/overdue",
            "ops/complaints/returned",
            "ops/complaints/stalled",
            "ops/pipeline",
            "exports/complaints.csv",
            "exports/complaints.xlsx",
        )
    },
    "GET /api/v1/stats/agencies/{agency_id}": protected(
        200, (*ADMINS, "ops_key", "coordinator"), coordinator_stranger=404
    ),
    # --- intake (issue 8): the public listing and the timeline; privacy decides what shows
    "GET /api/v1/complaints": EVERYONE_200,
    "GET /api/v1/complaints/{tracking_id}/timeline": EVERYONE_200,
    # the ops dashboard page (issue 10): public; its numbers come from /api/v1/stats
    "GET /ops": EVERYONE_200,
}


@dataclass
class Context:
    """The objects the calls are about, and ways to make a fresh one per call for operations
    that use their object up (delete, revoke, spend)."""

    settings: Settings
    gateway: str
    world: World
    tracking_id: str
    reporter_token: str
    staff_member: uuid.UUID  # a liaison of the office
    endpoint_id: str
    delivery_id: str = ""  # a ping to the endpoint (webhooks)

    async def add_account(self, role: str, agency: uuid.UUID | None = None) -> tuple[str, str]:
        engine = create_async_engine(self.settings.require_database_url())
        try:
            async with create_sessionmaker(engine)() as session:
                account = await add_account(session, role=role, agency_id=agency)
                await session.commit()
                return str(account.id), account.email
        finally:
            await engine.dispose()

    async def add_key(self) -> str:
        engine = create_async_engine(self.settings.require_database_url())
        try:
            async with create_sessionmaker(engine)() as session:
                key, _token = await add_api_key(session, role="ops")
                await session.commit()
                return str(key.id)
        finally:
            await engine.dispose()

    async def inbox_complaint(self, agency_code: str, **fields: Any) -> str:
        """A complaint assigned to `agency_code`, for an inbox action to use up."""
        engine = create_async_engine(self.settings.require_database_url())
        try:
            async with create_sessionmaker(engine)() as session:
                complaint = await add_complaint(session, **fields)
                await assign(session, complaint, agency_code)
                await session.commit()
                return complaint.tracking_id
        finally:
            await engine.dispose()

    async def refresh_token(self, client: httpx.AsyncClient) -> str:
        _id, email = await self.add_account("citizen")
        from tests.factories import PASSWORD

        answer = await client.post(
            "/api/v1/auth/token",
            data={"grant_type": "password", "username": email, "password": PASSWORD},
        )
        token: str = answer.json()["refresh_token"]
        return token

    async def new_endpoint(self, client: httpx.AsyncClient) -> str:
        """An endpoint of the Aceh regional system (its receiver refuses connections)."""
        created = await client.post(
            "/api/v1/webhooks/endpoints",
            json={"url": "http://127.0.0.1:9/hook", "region_codes": ["11"]},
            headers=self.world.callers["regional_key"].headers,
        )
        assert created.status_code == 201, created.text
        endpoint_id: str = created.json()["id"]
        return endpoint_id


Call = Callable[[httpx.AsyncClient, Caller, Context], Awaitable[httpx.Response]]


def get(path: str) -> Call:
    async def call(client: httpx.AsyncClient, caller: Caller, ctx: Context) -> httpx.Response:
        return await client.get(path.format(**vars(ctx) | vars(ctx.world)), headers=caller.headers)

    return call


async def file_complaint(client: httpx.AsyncClient, caller: Caller, ctx: Context) -> httpx.Response:
    return await client.post("/api/v1/complaints", json=complaint_payload(), headers=caller.headers)


async def track(client: httpx.AsyncClient, caller: Caller, ctx: Context) -> httpx.Response:
    return await client.get(f"/api/v1/complaints/{ctx.tracking_id}", headers=caller.headers)


async def register(client: httpx.AsyncClient, caller: Caller, ctx: Context) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/register",
        json={
            "name": "Budi Santoso",
            "email": f"budi-{uuid.uuid4().hex[:8]}@example.id",
            "phone": "+6281298765432",
            "password": "kata-sandi-yang-panjang",
        },
        headers=caller.headers,
    )


async def token(client: httpx.AsyncClient, caller: Caller, ctx: Context) -> httpx.Response:
    from tests.factories import PASSWORD

    _id, email = await ctx.add_account("citizen")
    return await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": email, "password": PASSWORD},
        headers=caller.headers,
    )


async def refresh(client: httpx.AsyncClient, caller: Caller, ctx: Context) -> httpx.Response:
    spent = await ctx.refresh_token(client)
    return await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": spent}, headers=caller.headers
    )


async def logout(client: httpx.AsyncClient, caller: Caller, ctx: Context) -> httpx.Response:
    spent = await ctx.refresh_token(client)
    return await client.post(
        "/api/v1/auth/logout", json={"refresh_token": spent}, headers=caller.headers
    )


async def start_totp(client: httpx.AsyncClient, caller: Caller, ctx: Context) -> httpx.Response:
    return await client.post("/api/v1/me/totp", headers=caller.headers)


async def confirm_totp(client: httpx.AsyncClient, caller: Caller, ctx: Context) -> httpx.Response:
    await client.post("/api/v1/me/totp", headers=caller.headers)  # enrolment under way
    return await client.post(
        "/api/v1/me/totp/confirm", json={"code": "000000"}, headers=caller.headers
    )


async def create_staff(client: httpx.AsyncClient, caller: Caller, ctx: Context) -> httpx.Response:
    return await client.post(
        "/api/v1/staff",
        json={
            "name": "Rina Wati",
            "email": f"rina-{uuid.uuid4().hex[:8]}@acehselatankab.go.id",
            "password": "sandi-awal-yang-panjang",
            "role": "liaison",
            "agency_id": str(ctx.world.office),
        },
        headers=caller.headers,
    )


async def remove_staff(client: httpx.AsyncClient, caller: Caller, ctx: Context) -> httpx.Response:
    member, _email = await ctx.add_account("liaison", ctx.world.office)
    return await client.delete(f"/api/v1/staff/{member}", headers=caller.headers)


async def create_key(client: httpx.AsyncClient, caller: Caller, ctx: Context) -> httpx.Response:
    return await client.post(
        "/api/v1/api-keys",
        json={"name": "Dasbor Kemendagri", "role": "ops"},
        headers=caller.headers,
    )


async def revoke_key(client: httpx.AsyncClient, caller: Caller, ctx: Context) -> httpx.Response:
    key_id = await ctx.add_key()
    return await client.delete(f"/api/v1/api-keys/{key_id}", headers=caller.headers)


async def create_endpoint(
    client: httpx.AsyncClient, caller: Caller, ctx: Context
) -> httpx.Response:
    # No scope: the caller's own (admins: every complaint).
    return await client.post(
        "/api/v1/webhooks/endpoints",
        json={"url": "http://127.0.0.1:9/hook"},
        headers=caller.headers,
    )


def on_endpoint(method: str, action: str, body: dict[str, Any] | None = None) -> Call:
    async def call(client: httpx.AsyncClient, caller: Caller, ctx: Context) -> httpx.Response:
        return await client.request(
            method,
            f"/api/v1/webhooks/endpoints/{ctx.endpoint_id}{action}",
            json=body,
            headers=caller.headers,
        )

    return call


async def delete_endpoint(
    client: httpx.AsyncClient, caller: Caller, ctx: Context
) -> httpx.Response:
    endpoint_id = await ctx.new_endpoint(client)
    return await client.delete(f"/api/v1/webhooks/endpoints/{endpoint_id}", headers=caller.headers)


def on_delivery(action: str) -> Call:
    async def call(client: httpx.AsyncClient, caller: Caller, ctx: Context) -> httpx.Response:
        path = f"/api/v1/webhooks/deliveries/{ctx.delivery_id}{action}"
        return await client.post(path, headers=caller.headers)

    return call


async def made_by_admin(client: httpx.AsyncClient, ctx: Context, path: str, body: object) -> str:
    """A fresh directory object made by the bootstrap admin: its id (or code)."""
    made = await client.post(path, json=body, headers=ctx.world.callers["bootstrap_admin"].headers)
    assert made.status_code == 201, made.text
    ident: str = made.json().get("id") or made.json()["code"]
    return ident


def new_agency() -> dict[str, str]:
    return {"code": f"uji-{uuid.uuid4().hex[:10]}", "name": "Lembaga Uji", "kind": "ministry"}


def new_category() -> dict[str, object]:
    # Inactive: reporters never see it in the categories list.
    code = f"uji_{uuid.uuid4().hex[:10]}"
    return {"code": code, "name_id": "Uji", "name_en": "Test", "active": False}


async def new_rule(client: httpx.AsyncClient, ctx: Context) -> str:
    category = await made_by_admin(client, ctx, "/api/v1/directory/categories", new_category())
    body = {"category_code": category, "target_level": "regency"}
    return await made_by_admin(client, ctx, "/api/v1/directory/rules", body)


async def create_agency(client: httpx.AsyncClient, caller: Caller, ctx: Context) -> httpx.Response:
    return await client.post("/api/v1/agencies", json=new_agency(), headers=caller.headers)


async def edit_agency(client: httpx.AsyncClient, caller: Caller, ctx: Context) -> httpx.Response:
    agency = await made_by_admin(client, ctx, "/api/v1/agencies", new_agency())
    return await client.patch(
        f"/api/v1/agencies/{agency}",
        json={"contacts": {"email": "pengaduan@uji.go.id"}},
        headers=caller.headers,
    )


async def deactivate_agency(
    client: httpx.AsyncClient, caller: Caller, ctx: Context
) -> httpx.Response:
    agency = await made_by_admin(client, ctx, "/api/v1/agencies", new_agency())
    return await client.post(f"/api/v1/agencies/{agency}/deactivate", headers=caller.headers)


async def create_category(
    client: httpx.AsyncClient, caller: Caller, ctx: Context
) -> httpx.Response:
    return await client.post(
        "/api/v1/directory/categories", json=new_category(), headers=caller.headers
    )


async def edit_category(client: httpx.AsyncClient, caller: Caller, ctx: Context) -> httpx.Response:
    code = await made_by_admin(client, ctx, "/api/v1/directory/categories", new_category())
    return await client.patch(
        f"/api/v1/directory/categories/{code}",
        json={"verification": "manual"},
        headers=caller.headers,
    )


async def create_rule(client: httpx.AsyncClient, caller: Caller, ctx: Context) -> httpx.Response:
    category = await made_by_admin(client, ctx, "/api/v1/directory/categories", new_category())
    return await client.post(
        "/api/v1/directory/rules",
        json={"category_code": category, "target_level": "regency"},
        headers=caller.headers,
    )


async def edit_rule(client: httpx.AsyncClient, caller: Caller, ctx: Context) -> httpx.Response:
    rule = await new_rule(client, ctx)
    return await client.patch(
        f"/api/v1/directory/rules/{rule}", json={"priority": 10}, headers=caller.headers
    )


async def delete_rule(client: httpx.AsyncClient, caller: Caller, ctx: Context) -> httpx.Response:
    rule = await new_rule(client, ctx)
    return await client.delete(f"/api/v1/directory/rules/{rule}", headers=caller.headers)


async def retry_event(client: httpx.AsyncClient, caller: Caller, ctx: Context) -> httpx.Response:
    return await client.post(
        f"/api/v1/ops/failed-events/routing/{uuid.uuid4()}/retry", headers=caller.headers
    )


def inbox(
    method: str,
    action: str,
    body: dict[str, Any] | None = None,
    agency_code: str = "pemda-11.01",
    **fields: Any,
) -> Call:
    async def call(client: httpx.AsyncClient, caller: Caller, ctx: Context) -> httpx.Response:
        tracking_id = await ctx.inbox_complaint(agency_code, **fields)
        path = f"/api/v1/agency/complaints/{tracking_id}{action}"
        # "{office}": an id of the world, known once it is made.
        sent = {
            k: v.format(**vars(ctx.world)) if isinstance(v, str) and v.startswith("{") else v
            for k, v in (body or {}).items()
        }
        return await client.request(
            method, path, json=sent if body is not None else None, headers=caller.headers
        )

    return call


RESUME_ON = (date.today() + timedelta(days=30)).isoformat()
INBOX_CALLS: dict[str, Call] = {
    "GET /api/v1/agency/complaints/{tracking_id}": inbox("GET", "", status="dispositioned"),
    "POST /api/v1/agency/complaints/{tracking_id}/accept": inbox(
        "POST", "/accept", {}, status="dispositioned"
    ),
    "POST /api/v1/agency/complaints/{tracking_id}/follow-ups": inbox(
        "POST", "/follow-ups", {"text": "Tim sudah meninjau lokasi."}, status="in_progress"
    ),
    "POST /api/v1/agency/complaints/{tracking_id}/resolve": inbox(
        "POST", "/resolve", {"reason": "Selesai"}, status="in_progress"
    ),
    "POST /api/v1/agency/complaints/{tracking_id}/return": inbox(
        "POST", "/return", {"reason": "Bukan wewenang kami"}, status="dispositioned"
    ),
    "POST /api/v1/agency/complaints/{tracking_id}/delegate": inbox(
        "POST",
        "/delegate",
        {"office_id": "{office}"},
        agency_code="pemprov-11",
        status="dispositioned",
    ),
    "POST /api/v1/agency/complaints/{tracking_id}/hold": inbox(
        "POST",
        "/hold",
        {"reason": "Menunggu anggaran", "resume_on": RESUME_ON},
        status="in_progress",
    ),
    "POST /api/v1/agency/complaints/{tracking_id}/resume": inbox(
        "POST", "/resume", {}, status="on_hold", held_from_status="in_progress"
    ),
}


def verification(action: str, body: dict[str, Any], **fields: Any) -> Call:
    """A fresh complaint awaiting verification in 11.01.01 (the factories write no event, so
    the worker leaves it alone), and the action on it."""

    async def call(client: httpx.AsyncClient, caller: Caller, ctx: Context) -> httpx.Response:
        engine = create_async_engine(ctx.settings.require_database_url())
        try:
            async with create_sessionmaker(engine)() as session:
                complaint = await add_complaint(session, **fields)
                await session.commit()
                tracking_id = complaint.tracking_id
        finally:
            await engine.dispose()
        return await client.post(
            f"/api/v1/verification/complaints/{tracking_id}/{action}",
            json=body,
            headers=caller.headers,
        )

    return call


async def dry_run(client: httpx.AsyncClient, caller: Caller, ctx: Context) -> httpx.Response:
    return await client.post(
        "/api/v1/routing/dry-run",
        json={"category": "infrastruktur", "region_code": "11.01.01"},
        headers=caller.headers,
    )


VERIFICATION_CALLS: dict[str, Call] = {
    "GET /api/v1/verification/complaints": get("/api/v1/verification/complaints"),
    "POST /api/v1/verification/complaints/{tracking_id}/verify": verification("verify", {}),
    "POST /api/v1/verification/complaints/{tracking_id}/hold": verification(
        "hold", {"reason": "Menunggu konfirmasi lokasi", "resume_on": RESUME_ON}
    ),
    "POST /api/v1/verification/complaints/{tracking_id}/resume": verification(
        "resume", {}, status="on_hold", held_from_status="submitted"
    ),
    "POST /api/v1/verification/complaints/{tracking_id}/archive": verification(
        "archive", {"reason_code": "not_actionable"}
    ),
    "POST /api/v1/verification/complaints/{tracking_id}/request-info": verification(
        "request-info", {"question": "Mohon sebutkan patokan lokasinya."}
    ),
    "POST /api/v1/routing/dry-run": dry_run,
}


def reported(action: str, body: dict[str, Any] | None, method: str = "POST", **fields: Any) -> Call:
    """convo: a fresh complaint filed by the matrix's citizen (its account and the reporter
    token of the context), assigned to the office, and the action on it."""

    async def call(client: httpx.AsyncClient, caller: Caller, ctx: Context) -> httpx.Response:
        engine = create_async_engine(ctx.settings.require_database_url())
        try:
            async with create_sessionmaker(engine)() as session:
                complaint = await add_complaint(
                    session,
                    reporter_account_id=ctx.world.callers["citizen"].account_id,
                    reporter_token_hash=hash_reporter_token(ctx.reporter_token),
                    **fields,
                )
                await assign(session, complaint, "pemda-11.01", status="responded")
                await session.commit()
                tracking_id = complaint.tracking_id
        finally:
            await engine.dispose()
        return await client.request(
            method,
            f"/api/v1/complaints/{tracking_id}/{action}",
            json=body,
            headers=caller.headers,
        )

    return call


async def mark_duplicate(client: httpx.AsyncClient, caller: Caller, ctx: Context) -> httpx.Response:
    return await verification("duplicate", {"duplicate_of": ctx.tracking_id})(client, caller, ctx)


CONVERSATION_CALLS: dict[str, Call] = {
    "GET /api/v1/complaints/{tracking_id}/comments": get(
        "/api/v1/complaints/{tracking_id}/comments"
    ),
    "GET /api/v1/complaints/{tracking_id}/follow-ups": get(
        "/api/v1/complaints/{tracking_id}/follow-ups"
    ),
    "POST /api/v1/complaints/{tracking_id}/comments": reported(
        "comments", {"body": "Lubangnya makin besar."}, status="in_progress"
    ),
    "POST /api/v1/complaints/{tracking_id}/reply": reported(
        "reply", {"body": "Belum ditambal."}, status="responded"
    ),
    "POST /api/v1/complaints/{tracking_id}/accept": reported("accept", {}, status="responded"),
    "POST /api/v1/complaints/{tracking_id}/rating": reported(
        "rating", {"rating": 5}, status="resolved"
    ),
    "POST /api/v1/complaints/{tracking_id}/reopen": reported(
        "reopen", {"reason": "Rusak lagi."}, status="resolved"
    ),
    "POST /api/v1/complaints/{tracking_id}/follow": reported(
        "follow", None, status="dispositioned"
    ),
    "DELETE /api/v1/complaints/{tracking_id}/follow": reported(
        "follow", None, method="DELETE", status="dispositioned"
    ),
    "GET /api/v1/me/complaints/following": get("/api/v1/me/complaints/following"),
    "POST /api/v1/agency/complaints/{tracking_id}/comments": inbox(
        "POST", "/comments", {"body": "Mohon kirim foto lokasi."}, status="in_progress"
    ),
    "POST /api/v1/verification/complaints/{tracking_id}/duplicate": mark_duplicate,
}


# Open311 GeoReport v2
async def open311_request(
    client: httpx.AsyncClient, caller: Caller, ctx: Context
) -> httpx.Response:
    return await client.post(
        "/open311/v2/requests.json",
        data={
            "service_code": "infrastruktur",
            "address_id": "11.01.01",
            "description": "Lampu jalan di depan pasar mati sejak dua minggu dan rawan.",
        },
        headers=caller.headers,
    )


async def open311_token(client: httpx.AsyncClient, caller: Caller, ctx: Context) -> httpx.Response:
    engine = create_async_engine(ctx.settings.require_database_url())
    try:
        async with create_sessionmaker(engine)() as session:
            request = await add_open311_request(session, await add_complaint(session))
            await session.commit()
    finally:
        await engine.dispose()
    return await client.get(f"/open311/v2/tokens/{request.token}.json", headers=caller.headers)


async def open311_by_id(client: httpx.AsyncClient, caller: Caller, ctx: Context) -> httpx.Response:
    return await client.get(f"/open311/v2/requests/{ctx.tracking_id}.json", headers=caller.headers)


OPEN311_CALLS: dict[str, Call] = {
    "POST /api/v1/verification/complaints/{tracking_id}/region": verification(
        "region", {"region_code": "11.01.01"}, region_code=None
    ),
    "GET /open311/v2/discovery.json": get("/open311/v2/discovery.json"),
    "GET /open311/v2/services.json": get("/open311/v2/services.json"),
    "GET /open311/v2/services/{service_code}.json": get("/open311/v2/services/infrastruktur.json"),
    "POST /open311/v2/requests.json": open311_request,
    "GET /open311/v2/requests.json": get("/open311/v2/requests.json"),
    "GET /open311/v2/requests/{service_request_id}.json": open311_by_id,
    "GET /open311/v2/tokens/{token}.json": open311_token,
}


async def set_preferences(
    client: httpx.AsyncClient, caller: Caller, ctx: Context
) -> httpx.Response:
    return await client.put(
        "/api/v1/me/notification-preferences",
        json={"language": "en", "sms": True},
        headers=caller.headers,
    )


CALLS: dict[str, Call] = {
    "GET /healthz": get("/healthz"),
    "GET /readyz": get("/readyz"),
    "GET /openapi.json": get("/openapi.json"),
    "GET /docs": get("/docs"),
    "GET /metrics": get("/metrics"),
    "GET /api/v1/categories": get("/api/v1/categories"),
    "GET /api/v1/agencies": get("/api/v1/agencies"),
    "GET /api/v1/agencies/{agency_id}": get("/api/v1/agencies/{office}"),
    "POST /api/v1/agencies": create_agency,
    "PATCH /api/v1/agencies/{agency_id}": edit_agency,
    "POST /api/v1/agencies/{agency_id}/deactivate": deactivate_agency,
    "GET /api/v1/directory/categories": get("/api/v1/directory/categories"),
    "POST /api/v1/directory/categories": create_category,
    "PATCH /api/v1/directory/categories/{code}": edit_category,
    "GET /api/v1/directory/rules": get("/api/v1/directory/rules"),
    "POST /api/v1/directory/rules": create_rule,
    "PATCH /api/v1/directory/rules/{rule_id}": edit_rule,
    "DELETE /api/v1/directory/rules/{rule_id}": delete_rule,
    "POST /api/v1/complaints": file_complaint,
    "GET /api/v1/complaints/{tracking_id}": track,
    "GET /api/v1/me/complaints": get("/api/v1/me/complaints"),
    "POST /api/v1/auth/register": register,
    "POST /api/v1/auth/token": token,
    "POST /api/v1/auth/refresh": refresh,
    "POST /api/v1/auth/logout": logout,
    "GET /api/v1/me": get("/api/v1/me"),
    "POST /api/v1/me/totp": start_totp,
    "POST /api/v1/me/totp/confirm": confirm_totp,
    "POST /api/v1/staff": create_staff,
    "GET /api/v1/staff": get("/api/v1/staff"),
    "GET /api/v1/staff/{account_id}": get("/api/v1/staff/{staff_member}"),
    "DELETE /api/v1/staff/{account_id}": remove_staff,
    "POST /api/v1/api-keys": create_key,
    "GET /api/v1/api-keys": get("/api/v1/api-keys"),
    "DELETE /api/v1/api-keys/{key_id}": revoke_key,
    "POST /api/v1/webhooks/endpoints": create_endpoint,
    "GET /api/v1/webhooks/endpoints": get("/api/v1/webhooks/endpoints"),
    "GET /api/v1/webhooks/endpoints/{endpoint_id}": get("/api/v1/webhooks/endpoints/{endpoint_id}"),
    "DELETE /api/v1/webhooks/endpoints/{endpoint_id}": delete_endpoint,
    "GET /api/v1/webhooks/endpoints/{endpoint_id}/deliveries": get(
        "/api/v1/webhooks/endpoints/{endpoint_id}/deliveries"
    ),
    "PATCH /api/v1/webhooks/endpoints/{endpoint_id}": on_endpoint(
        "PATCH", "", {"description": "Sistem pengaduan Aceh"}
    ),
    "POST /api/v1/webhooks/endpoints/{endpoint_id}/rotate-secret": on_endpoint(
        "POST", "/rotate-secret"
    ),
    "POST /api/v1/webhooks/endpoints/{endpoint_id}/ping": on_endpoint("POST", "/ping"),
    "POST /api/v1/webhooks/endpoints/{endpoint_id}/recover": on_endpoint(
        "POST", "/recover", {"since": "2026-01-01T00:00:00Z"}
    ),
    "GET /api/v1/webhooks/deliveries": get("/api/v1/webhooks/deliveries"),
    "GET /api/v1/webhooks/deliveries/{delivery_id}": get(
        "/api/v1/webhooks/deliveries/{delivery_id}"
    ),
    "POST /api/v1/webhooks/deliveries/{delivery_id}/redeliver": on_delivery("/redeliver"),
    "GET /api/v1/webhooks/event-types": get("/api/v1/webhooks/event-types"),
    "GET /api/v1/ops/failed-events": get("/api/v1/ops/failed-events"),
    "POST /api/v1/ops/failed-events/{consumer}/{event_id}/retry": retry_event,
    "GET /api/v1/agency/complaints": get("/api/v1/agency/complaints"),
    **INBOX_CALLS,
    **VERIFICATION_CALLS,
    **CONVERSATION_CALLS,  # convo
    **OPEN311_CALLS,
    # notifications to people
    "GET /api/v1/me/notification-preferences": get("/api/v1/me/notification-preferences"),
    "PUT /api/v1/me/notification-preferences": set_preferences,
}


# --- attachments (issue 8)


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (10, 120, 10)).save(out, "JPEG")
    return out.getvalue()


async def attach(client: httpx.AsyncClient, caller: Caller, ctx: Context) -> httpx.Response:
    return await client.post(
        f"/api/v1/complaints/{ctx.tracking_id}/attachments",
        files={"file": ("foto.jpg", jpeg(), "image/jpeg")},
        headers=caller.headers,
    )


async def download(client: httpx.AsyncClient, caller: Caller, ctx: Context) -> httpx.Response:
    reporter = {"X-Reporter-Token": ctx.reporter_token}
    path = f"/api/v1/complaints/{ctx.tracking_id}/attachments"
    files = (await client.get(path, headers=reporter)).json()
    if not files:
        added = await attach(client, Caller("reporter_token", reporter), ctx)
        files = [added.json()]
    return await client.get(files[0]["url"], headers=caller.headers)


CALLS |= {
    "POST /api/v1/complaints/{tracking_id}/attachments": attach,
    "GET /api/v1/complaints/{tracking_id}/attachments": get(
        "/api/v1/complaints/{tracking_id}/attachments"
    ),
    "GET /api/v1/complaints/{tracking_id}/attachments/{attachment_id}": download,
    # statistics, ops lists and exports (routing/stats)
    "GET /api/v1/stats/regions": get("/api/v1/stats/regions?level=province"),
    "GET /api/v1/stats/ranking": get("/api/v1/stats/ranking?level=regency"),
    "GET /api/v1/stats/trends": get("/api/v1/stats/trends?measure=complaints&region=11"),
    "GET /api/v1/stats/agencies/{agency_id}": get("/api/v1/stats/agencies/{office}"),
    "GET /api/v1/ops/complaints/overdue": get("/api/v1/ops/complaints/overdue"),
    "GET /api/v1/ops/complaints/returned": get("/api/v1/ops/complaints/returned"),
    "GET /api/v1/ops/complaints/stalled": get("/api/v1/ops/complaints/stalled"),
    "GET /api/v1/ops/pipeline": get("/api/v1/ops/pipeline"),
    "GET /api/v1/exports/complaints.csv": get("/api/v1/exports/complaints.csv?region=11.01"),
    "GET /api/v1/exports/complaints.xlsx": get("/api/v1/exports/complaints.xlsx?region=11.01"),
    # intake (issue 8)
    "GET /api/v1/complaints": get("/api/v1/complaints?q=jalan"),
    "GET /api/v1/complaints/{tracking_id}/timeline": get(
        "/api/v1/complaints/{tracking_id}/timeline"
    ),
    "GET /ops": get("/ops"),  # the ops dashboard page (issue 10)
}


async def operations(gateway: str) -> set[str]:
    # The merged document gathers every service's: slow on a loaded machine.
    async with httpx.AsyncClient(base_url=gateway, timeout=60) as client:
        spec = (await client.get("/openapi.json")).json()
    return {
        f"{method.upper()} {path}"
        for path, items in spec["paths"].items()
        for method in items
        if method in {"get", "post", "put", "patch", "delete"}
    }


async def test_every_operation_has_a_row(platform: Platform) -> None:
    documented = await operations(platform.gateway)
    # The gateway's own pages are not in the document; they are in the matrix all the same.
    undocumented_pages = {"GET /openapi.json", "GET /docs", "GET /healthz", "GET /readyz"}
    assert documented - set(MATRIX) == set(), "operations without a row in the matrix"
    assert set(MATRIX) - documented - undocumented_pages - {"GET /metrics"} == set()
    assert set(CALLS) == set(MATRIX)


async def test_every_caller_gets_the_answer_the_matrix_says(
    platform: Platform, settings: Settings
) -> None:
    world = await make_world(settings, platform.gateway)
    async with httpx.AsyncClient(base_url=platform.gateway, timeout=30) as client:
        citizen = world.callers["citizen"]
        filed = await client.post(
            "/api/v1/complaints", json=complaint_payload(), headers=citizen.headers
        )
        assert filed.status_code == 201, filed.text
        token = filed.json()["reporter_token"]
        world.callers["reporter_token"] = Caller("reporter_token", {"X-Reporter-Token": token})
        ctx = Context(
            settings=settings,
            gateway=platform.gateway,
            world=world,
            tracking_id=filed.json()["tracking_id"],
            reporter_token=token,
            staff_member=uuid.uuid4(),
            endpoint_id="",
        )
        member, _email = await ctx.add_account("liaison", world.office)
        ctx.staff_member = uuid.UUID(member)
        ctx.endpoint_id = await ctx.new_endpoint(client)
        ping = await client.post(
            f"/api/v1/webhooks/endpoints/{ctx.endpoint_id}/ping",
            headers=world.callers["regional_key"].headers,
        )
        assert ping.status_code == 202, ping.text
        ctx.delivery_id = ping.json()["delivery_id"]

        answers: dict[str, dict[str, int]] = {}
        for operation, call in CALLS.items():
            answers[operation] = {}
            for column in COLUMNS:
                response = await call(client, world.callers[column], ctx)
                answers[operation][column] = response.status_code
                if response.status_code >= 400 and response.status_code != 404:
                    # Open311 answers GeoReport's error list, everything else problems.
                    expected = (
                        "application/json"
                        if operation.split(" ", 1)[1].startswith("/open311/")
                        else "application/problem+json"
                    )
                    assert response.headers["content-type"] == expected, (operation, column)

    wrong = sorted(
        f"{operation}: {column} got {answers[operation][column]}, expected {expected}"
        for operation, row_ in MATRIX.items()
        for column, expected in row_.items()
        if answers[operation][column] != expected
    )
    assert wrong == [], "\n".join(wrong)


async def test_sign_in_tokens_name_their_roles(platform: Platform, settings: Settings) -> None:
    # A sanity check of the world the matrix runs in: tokens are what they claim.
    world = await make_world(settings, platform.gateway)
    async with httpx.AsyncClient(base_url=platform.gateway) as client:
        me = await client.get("/api/v1/me", headers=world.callers["coordinator"].headers)
        assert me.json()["role"] == "coordinator"
        assert str(world.parent) in me.text
        _id, email = await Context(
            settings, platform.gateway, world, "", "", uuid.uuid4(), ""
        ).add_account("citizen")
        assert (await sign_in(client, email)).count(".") == 2
