from fastapi import FastAPI

from intake.api import router
from services.app import create_service_app
from services.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        "intake",
        [router],
        description="The citizen side of Aduan: file and track complaints.",
        settings=settings,
    )


app = create_app()
