"""The agency's comments to the reporter, on the inbox's paths (thin)."""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from routing.inbox.api import ACTION_RESPONSES, SCOPE
from routing.inbox.conversation import AgencyConversation
from services.deps import RuntimeDep, SessionDep
from services.policy import Permission, Requires
from services.principal import Principal

router = APIRouter(prefix="/api/v1/agency/complaints", tags=["agency inbox"])


class AgencyCommentIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"body": "Mohon kirimkan foto lokasi dari sisi jalan yang lain."}]
        },
    )

    body: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)
    ] = Field(
        description="The comment, for the reporter",
        examples=["Mohon kirimkan foto lokasi dari sisi jalan yang lain."],
    )


class AgencyRefOut(BaseModel):
    id: uuid.UUID
    code: str = Field(examples=["pemda-11.01.dinas-pupr"])
    name: str = Field(examples=["Dinas PUPR Kabupaten Aceh Selatan"])


class AgencyCommentOut(BaseModel):
    id: uuid.UUID = Field(description="The id of its `complaint.commented` timeline event")
    author: Literal["agency"]
    agency: AgencyRefOut = Field(description="The agency of your assignment it speaks for")
    actor_role: str = Field(examples=["liaison"])
    body: str
    created_at: datetime


async def get_conversation(session: SessionDep, runtime: RuntimeDep) -> AgencyConversation:
    return AgencyConversation(session, runtime)


@router.post(
    "/{tracking_id}/comments",
    status_code=201,
    response_model=AgencyCommentOut,
    summary="Comment to the reporter",
    description="Adds your agency's comment to the conversation with the reporter (event "
    "`complaint.commented`, author `agency`; the body rides in the event, and so in webhooks, "
    "only when the complaint is not confidential). The reporter reads it at `GET "
    "/api/v1/complaints/{tracking_id}/comments`. Not on a resolved, archived or duplicate "
    "complaint (409 `wrong_status`)." + SCOPE,
    responses=ACTION_RESPONSES,
)
async def comment(
    tracking_id: Annotated[
        str,
        Path(max_length=16, description="The complaint's tracking id", examples=["ADN-7K3QX9P2"]),
    ],
    body: AgencyCommentIn,
    principal: Annotated[Principal, Requires(Permission.agency_inbox)],
    service: Annotated[AgencyConversation, Depends(get_conversation)],
) -> Any:
    return await service.comment(principal, tracking_id, body.body)
