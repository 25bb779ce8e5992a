from fastapi import FastAPI

from intake.api import router
from intake.attachments.api import router as attachments_router
from intake.conversation.api import router as conversation_router
from intake.open311.api import router as open311_router
from intake.open311.errors import install_open311_errors
from intake.service import purge_idempotency_records
from services.app import create_service_app
from services.housekeeping import Chore
from services.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    app = create_service_app(
        "intake",
        [router, attachments_router, conversation_router, open311_router],
        description="The citizen side of Aduan: file and track complaints, attach files, talk "
        "with the agency, also through Open311 GeoReport v2.",
        settings=settings,
        chores=[Chore("idempotency purge", 600, purge_idempotency_records)],
    )
    install_open311_errors(app)
    return app


app = create_app()
