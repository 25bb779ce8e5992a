from fastapi import FastAPI

from intake.api import router
from intake.conversation.api import router as conversation_router
from intake.service import purge_idempotency_records
from services.app import create_service_app
from services.housekeeping import Chore
from services.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        "intake",
        [router, conversation_router],
        description="The citizen side of Aduan: file and track complaints.",
        settings=settings,
        chores=[Chore("idempotency purge", 600, purge_idempotency_records)],
    )


app = create_app()
