"""Marking a complaint a duplicate of another (verifiers; thin)."""

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field

from routing.verification.api import ACTION, SCOPE, TrackingId, VerifierDep
from routing.verification.duplicates import DuplicateService
from routing.verification.schemas import ActionOut
from services.deps import SessionDep
from services.domain.tracking import TRACKING_ID_PATTERN

router = APIRouter(prefix="/api/v1/verification", tags=["verification"])


class DuplicateIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"duplicate_of": "ADN-7K3QX9P2G", "reason": "lubang jalan yang sama, lapor ulang"}
            ]
        },
    )

    duplicate_of: str = Field(
        pattern=TRACKING_ID_PATTERN,
        description="The tracking id of the complaint it repeats (not itself a duplicate)",
        examples=["ADN-7K3QX9P2G"],
    )
    reason: str | None = Field(default=None, min_length=3, max_length=500)


async def get_duplicate_service(session: SessionDep) -> DuplicateService:
    return DuplicateService(session)


@router.post(
    "/complaints/{tracking_id}/duplicate",
    response_model=ActionOut,
    summary="Mark a complaint a duplicate",
    description="Links a complaint to the one it repeats: status `duplicate` (final), event "
    "`complaint.marked_duplicate` with `duplicate_of`; every deadline stops. Allowed while the "
    "complaint is open (submitted up to responded; resolved, archived and duplicate "
    "complaints are 409 `illegal_transition`). `duplicate_of` must be another complaint that "
    "exists and is not itself a duplicate (422 naming `/duplicate_of`: `duplicate_of_itself`, "
    "`unknown_complaint`, `target_is_duplicate`)." + SCOPE,
    responses=ACTION,
)
async def mark_duplicate(
    tracking_id: TrackingId,
    body: DuplicateIn,
    principal: VerifierDep,
    service: Annotated[DuplicateService, Depends(get_duplicate_service)],
) -> ActionOut:
    return await service.mark_duplicate(principal, tracking_id, body.duplicate_of, body.reason)
