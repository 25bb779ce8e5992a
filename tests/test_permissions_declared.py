"""Every public operation declares the permission it needs (services/policy.py `Requires`):
a route without one would be open to whoever reaches it, whatever the policy table says.
The authorization matrix (tests/e2e/test_authorization_matrix.py) then checks the answers."""

from fastapi import FastAPI
from fastapi.routing import APIRoute

from gateway.main import create_gateway_app
from intake.main import create_app as create_intake
from notifications.main import create_app as create_notifications
from routing.main import create_app as create_routing
from services.settings import Settings
from tests.signing import SIGNING_KEY, VERIFY_KEYS

# Operations that are open by nature: the credentials travel in the body.
CREDENTIAL_EXCHANGES = {
    "POST /api/v1/auth/token",
    "POST /api/v1/auth/refresh",
    "POST /api/v1/auth/logout",
}


def permissions(route: APIRoute) -> set[str]:
    found = set()
    stack = list(route.dependant.dependencies)
    while stack:
        dependant = stack.pop()
        name = getattr(dependant.call, "__name__", "")
        if name.startswith("requires_"):
            found.add(name.removeprefix("requires_"))
        stack.extend(dependant.dependencies)
    return found


def undeclared(app: FastAPI) -> list[str]:
    missing = []
    for route in app.routes:
        if not isinstance(route, APIRoute) or not route.path.startswith("/api/v1"):
            continue
        for method in route.methods - {"HEAD", "OPTIONS"}:
            operation = f"{method} {route.path}"
            if not permissions(route) and operation not in CREDENTIAL_EXCHANGES:
                missing.append(operation)
    return missing


def settings() -> Settings:
    return Settings(
        _env_file=None,
        internal_signing_key=SIGNING_KEY,
        internal_verify_keys=VERIFY_KEYS,
    )


def test_every_operation_of_every_service_declares_its_permission() -> None:
    apps = {
        "intake": create_intake(settings()),
        "routing": create_routing(settings()),
        "notifications": create_notifications(settings()),
        "gateway": create_gateway_app(settings()),
    }
    missing = {name: undeclared(app) for name, app in apps.items()}
    assert missing == {name: [] for name in apps}


def test_the_check_catches_a_route_without_a_permission() -> None:
    app = FastAPI()

    @app.get("/api/v1/open-door")
    async def open_door() -> dict[str, str]:
        return {}

    assert undeclared(app) == ["GET /api/v1/open-door"]
