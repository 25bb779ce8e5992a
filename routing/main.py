from fastapi import FastAPI

from routing.api import router
from services.app import create_service_app
from services.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        "routing",
        [router],
        description="Verification, disposition and the agency directory of Aduan.",
        settings=settings,
    )


app = create_app()
