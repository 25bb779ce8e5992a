from fastapi import FastAPI

from notifications.api import router
from notifications.people.api import router as people_router
from services.app import create_service_app
from services.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    return create_service_app(
        "notifications",
        [router, people_router],
        description=(
            "Webhook endpoints of Aduan and their deliveries: complaint events signed per the "
            "Standard Webhooks spec, retried with backoff, kept as dead letters when they fail; "
            "and what people are told by email, push and SMS (their preferences)."
        ),
        settings=settings,
    )


app = create_app()
