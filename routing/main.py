from fastapi import APIRouter, Depends, FastAPI

from routing.api import router
from routing.directory.api import agencies_router as directory_agencies_router
from routing.directory.api import router as directory_router
from routing.disposition.api import router as dry_run_router
from routing.inbox.api import router as inbox_router
from routing.inbox.conversation_api import router as inbox_conversation_router
from routing.sla.follow import clocks_follow_requests
from routing.stats.api import exports_router as stats_exports_router
from routing.stats.api import ops_router as stats_ops_router
from routing.stats.api import router as stats_router
from routing.verification.api import router as verification_router
from routing.verification.duplicate_api import router as duplicate_router
from services.app import create_service_app
from services.events.ops_api import router as ops_router
from services.settings import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    # The routes that record complaint events move the SLA clocks in the same transaction.
    acting = APIRouter(dependencies=[Depends(clocks_follow_requests)])
    acting.include_router(verification_router)
    acting.include_router(duplicate_router)  # convo
    acting.include_router(inbox_router)
    acting.include_router(inbox_conversation_router)  # convo
    return create_service_app(
        "routing",
        [
            router,
            directory_agencies_router,
            directory_router,
            acting,
            dry_run_router,
            ops_router,
            # statistics, ops lists and exports (routing/stats)
            stats_router,
            stats_ops_router,
            stats_exports_router,
        ],
        description="Verification, disposition and the agency directory of Aduan; failed events "
        "for admins.",
        settings=settings,
    )


app = create_app()
