from fastapi import FastAPI

from intake.api import router
from intake.attachments.api import router as attachments_router
from intake.service import purge_idempotency_records
from services.app import create_service_app
from services.housekeeping import Chore
from services.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        "intake",
        [router, attachments_router],
        description="The citizen side of Aduan: file and track complaints, attach files.",
        settings=settings,
        chores=[Chore("idempotency purge", 600, purge_idempotency_records)],
    )


app = create_app()
