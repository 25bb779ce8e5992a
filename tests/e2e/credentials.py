"""A caller of every kind against the running platform: accounts and API keys written with the
shared factories into the platform's database, access tokens got through the real sign-in.

`Caller.headers` is what a client sends. The objects each caller owns (its agency, its region)
are in `World`, for tests that need an owner and a stranger of the same kind.
"""

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

import httpx
from sqlalchemy.ext.asyncio import create_async_engine

from services.db import create_sessionmaker
from services.settings import Settings
from tests.factories import PASSWORD, add_account, add_api_key, agency_id


@dataclass(frozen=True)
class Caller:
    name: str
    headers: Mapping[str, str] = field(default_factory=dict)
    account_id: uuid.UUID | None = None


@dataclass
class World:
    """The agencies the callers belong to: an office, its parent government, an unrelated one."""

    office: uuid.UUID  # pemda-11.01 (Kabupaten Aceh Selatan)
    parent: uuid.UUID  # pemprov-11 (Provinsi Aceh)
    elsewhere: uuid.UUID  # pemda-32.01 (Kabupaten Bogor)
    callers: dict[str, Caller]


async def sign_in(client: httpx.AsyncClient, email: str) -> str:
    response = await client.post(
        "/api/v1/auth/token",
        data={"grant_type": "password", "username": email, "password": PASSWORD},
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def make_world(settings: Settings, gateway: str) -> World:
    """Every role of the authorization matrix, with an owner and a stranger where it matters."""
    engine = create_async_engine(settings.require_database_url())
    keys: dict[str, str] = {}
    accounts: dict[str, tuple[uuid.UUID, str]] = {}
    try:
        async with create_sessionmaker(engine)() as session:
            office = await agency_id(session, "pemda-11.01")
            parent = await agency_id(session, "pemprov-11")
            elsewhere = await agency_id(session, "pemda-32.01")
            for name, role, agency in (
                ("citizen", "citizen", None),
                ("citizen_stranger", "citizen", None),
                ("admin_staff", "admin", None),
                ("coordinator", "coordinator", parent),
                ("coordinator_stranger", "coordinator", elsewhere),
                ("liaison", "liaison", office),
            ):
                account = await add_account(session, role=role, agency_id=agency)
                accounts[name] = (account.id, account.email)
            for name, role, agency, regions in (
                ("agency_key", "agency", office, ()),
                ("agency_key_stranger", "agency", elsewhere, ()),
                ("regional_key", "regional_system", None, ("11",)),
                ("regional_key_stranger", "regional_system", None, ("32",)),
                ("ops_key", "ops", None, ()),
                ("admin_key", "admin", None, ()),
            ):
                _row, keys[name] = await add_api_key(
                    session, role=role, agency_id=agency, region_codes=regions
                )
            await session.commit()
    finally:
        await engine.dispose()

    assert settings.admin_api_key is not None
    callers = {
        "anonymous": Caller("anonymous"),
        "bootstrap_admin": Caller(
            "bootstrap_admin",
            {"Authorization": f"Bearer {settings.admin_api_key.get_secret_value()}"},
        ),
    }
    async with httpx.AsyncClient(base_url=gateway) as client:
        for name, (account_id, email) in accounts.items():
            token = await sign_in(client, email)
            callers[name] = Caller(name, {"Authorization": f"Bearer {token}"}, account_id)
    for name, key in keys.items():
        callers[name] = Caller(name, {"Authorization": f"Bearer {key}"})
    return World(office=office, parent=parent, elsewhere=elsewhere, callers=callers)
