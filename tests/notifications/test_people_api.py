"""An account's notification preferences (/api/v1/me/notification-preferences), in-process,
against the real database (rolled back per test)."""

import uuid

import httpx

from notifications.main import create_app
from services.principal import ANONYMOUS, Principal, PrincipalKind, Role
from services.runtime import Runtime
from tests.notifications.conftest import ADMIN, api_client

PATH = "/api/v1/me/notification-preferences"


def user(role: Role = Role.citizen) -> Principal:
    return Principal(kind=PrincipalKind.user, role=role, subject=str(uuid.uuid4()))


def as_(runtime: Runtime, principal: Principal | None) -> httpx.AsyncClient:
    return api_client(create_app(runtime.settings), runtime, principal)


async def test_an_account_starts_with_the_defaults_and_replaces_them(runtime: Runtime) -> None:
    async with as_(runtime, user()) as client:
        before = await client.get(PATH)
        put = await client.put(
            PATH,
            json={
                "language": "en",
                "sms": True,
                "push_tokens": ["token-a", "token-a", "token-b"],
            },
        )
        after = await client.get(PATH)

    assert before.status_code == 200
    assert before.json() == {
        "language": "id",
        "email": True,
        "push": True,
        "sms": False,
        "push_tokens": [],
        "daily_digest": False,
        "updated_at": None,
    }
    assert put.status_code == 200, put.text
    assert after.json() == put.json()
    body = after.json()
    assert (body["language"], body["email"], body["push"], body["sms"]) == ("en", True, True, True)
    assert body["push_tokens"] == ["token-a", "token-b"]
    assert body["updated_at"] is not None


async def test_each_account_sees_only_its_own(runtime: Runtime) -> None:
    async with as_(runtime, user()) as first, as_(runtime, user()) as second:
        await first.put(PATH, json={"language": "en"})
        theirs = await second.get(PATH)

    assert theirs.json()["language"] == "id"


async def test_the_daily_digest_is_for_agency_staff(runtime: Runtime) -> None:
    async with as_(runtime, user()) as citizen, as_(runtime, user(Role.liaison)) as liaison:
        refused = await citizen.put(PATH, json={"daily_digest": True})
        kept = await citizen.get(PATH)
        accepted = await liaison.put(PATH, json={"daily_digest": True})

    assert refused.status_code == 422
    assert refused.headers["content-type"] == "application/problem+json"
    assert [(e["pointer"], e["code"]) for e in refused.json()["errors"]] == [
        ("/daily_digest", "staff_only")
    ]
    assert kept.json()["updated_at"] is None  # nothing was written
    assert accepted.status_code == 200 and accepted.json()["daily_digest"] is True


async def test_bad_input_names_the_field(runtime: Runtime) -> None:
    async with as_(runtime, user()) as client:
        language = await client.put(PATH, json={"language": "jv"})
        unknown = await client.put(PATH, json={"whatsapp": True})
        too_many = await client.put(PATH, json={"push_tokens": [f"t{i}" for i in range(11)]})

    for response, pointer in (
        (language, "/language"),
        (unknown, "/whatsapp"),
        (too_many, "/push_tokens"),
    ):
        assert response.status_code == 422, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert pointer in [e["pointer"] for e in response.json()["errors"]]


async def test_api_keys_and_anonymous_callers_have_no_preferences(runtime: Runtime) -> None:
    async with as_(runtime, ADMIN) as key, as_(runtime, ANONYMOUS) as anonymous:
        by_key = await key.get(PATH)
        by_nobody = await anonymous.put(PATH, json={})

    assert by_key.status_code == 403
    assert by_nobody.status_code == 401
