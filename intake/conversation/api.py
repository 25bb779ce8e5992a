"""The conversation's routes on intake (thin: parse, call the service, shape the answer)."""

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Path, Query, Response

from intake.conversation.schemas import (
    AcceptIn,
    CommentIn,
    CommentOut,
    FollowOut,
    FollowUpOut,
    RatingIn,
    RatingOut,
    ReopenIn,
    ReplyIn,
)
from intake.conversation.service import ConversationService
from intake.schemas import ComplaintOut, ComplaintSummary
from services.deps import RuntimeDep, SessionDep
from services.pagination import Page
from services.policy import Permission, Requires
from services.principal import Principal
from services.problems import PROBLEM_RESPONSES, Problem

router = APIRouter(prefix="/api/v1", tags=["conversation"])
JSON = "application/json"


async def get_conversation_service(session: SessionDep, runtime: RuntimeDep) -> ConversationService:
    return ConversationService(session, runtime)


ServiceDep = Annotated[ConversationService, Depends(get_conversation_service)]
TrackingId = Annotated[
    str,
    Path(
        max_length=16,
        description="The tracking id given when the complaint was filed",
        examples=["ADN-7K3QX9P2"],
    ),
]
ReporterToken = Annotated[
    str | None,
    Header(
        alias="X-Reporter-Token",
        max_length=128,
        description="The `reporter_token` of the create answer: act as the complaint's reporter "
        "without an account",
    ),
]
Reporter = Annotated[Principal, Requires(Permission.complaint_reporter_act)]
Reader = Annotated[Principal, Requires(Permission.complaint_read)]
Follower = Annotated[Principal, Requires(Permission.complaint_follow)]

AS_REPORTER = (
    " Only the complaint's reporter: the citizen account that filed it, or whoever sends its "
    "`X-Reporter-Token`; anyone else gets 403 `not_reporter`. Nothing changes on a refusal."
)
NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "Unknown tracking id"}
}
REPORTER_RESPONSES: dict[int | str, dict[str, Any]] = {
    **PROBLEM_RESPONSES,
    **NOT_FOUND,
    403: {
        "model": Problem,
        "description": "Not the complaint's reporter (`not_reporter`), or a role that never "
        "acts as a reporter (`forbidden`)",
    },
}
PRIVACY = (
    " The text of a confidential complaint's conversation is shown only to its reporter, its "
    "assigned agencies and admins (`null` for everyone else); of any other complaint, to "
    "everyone who tracks it."
)


def _complaint(body: dict[str, Any]) -> Response:
    return Response(orjson.dumps(body), media_type=JSON)


@router.get(
    "/complaints/{tracking_id}/comments",
    response_model=list[CommentOut],
    summary="Read the conversation's comments",
    description="Every comment between the reporter and the assigned agency, oldest first "
    "(each is also a `complaint.commented` entry of the timeline)." + PRIVACY,
    responses=NOT_FOUND,
)
async def list_comments(
    tracking_id: TrackingId,
    principal: Reader,
    service: ServiceDep,
    reporter_token: ReporterToken = None,
) -> list[CommentOut]:
    return await service.comments(principal, tracking_id, reporter_token)


@router.post(
    "/complaints/{tracking_id}/comments",
    status_code=201,
    response_model=CommentOut,
    summary="Comment as the reporter",
    description="Adds the reporter's comment to the conversation with the assigned agency "
    "(event `complaint.commented`, author `reporter`; the body rides in the event, and so in "
    "webhooks, only when the complaint is not confidential). Not on a resolved, archived or "
    "duplicate complaint (409 `wrong_status`): a resolved one is reopened or rated." + AS_REPORTER,
    responses={
        **REPORTER_RESPONSES,
        409: {"model": Problem, "description": "The complaint is closed (`wrong_status`)"},
    },
)
async def comment(
    tracking_id: TrackingId,
    body: CommentIn,
    principal: Reporter,
    service: ServiceDep,
    reporter_token: ReporterToken = None,
) -> CommentOut:
    return await service.comment(principal, tracking_id, reporter_token, body.body)


@router.get(
    "/complaints/{tracking_id}/follow-ups",
    response_model=list[FollowUpOut],
    summary="Read the agencies' follow-ups",
    description="What the assigned agencies answered (tindak lanjut), oldest first, from the "
    "`complaint.followed_up` events of the timeline, so the reporter can reply to or accept "
    "the latest one." + PRIVACY,
    responses=NOT_FOUND,
)
async def list_follow_ups(
    tracking_id: TrackingId,
    principal: Reader,
    service: ServiceDep,
    reporter_token: ReporterToken = None,
) -> list[FollowUpOut]:
    return await service.follow_ups(principal, tracking_id, reporter_token)


@router.post(
    "/complaints/{tracking_id}/reply",
    response_model=ComplaintOut,
    summary="Reply to a follow-up",
    description="The reporter answers the agency's follow-up within the reply window (10 "
    "working days after it): the complaint goes back to `in_progress` and the window stops "
    "(event `complaint.reporter_replied`, with the body unless confidential). A resolved "
    "complaint's window is closed (409 `reply_window_closed`; reopen it instead); any status "
    "other than `responded` is 409 `wrong_status`. The answer is the complaint as you "
    "see it." + AS_REPORTER,
    responses={
        **REPORTER_RESPONSES,
        409: {
            "model": Problem,
            "description": "The reply window is closed, the complaint is not awaiting a reply, "
            "or it changed meanwhile",
        },
    },
)
async def reply(
    tracking_id: TrackingId,
    body: ReplyIn,
    principal: Reporter,
    service: ServiceDep,
    reporter_token: ReporterToken = None,
) -> Any:
    return _complaint(await service.reply(principal, tracking_id, reporter_token, body.body))


@router.post(
    "/complaints/{tracking_id}/accept",
    response_model=ComplaintOut,
    summary="Accept the resolution",
    description="The reporter accepts the agency's follow-up: `responded` → `resolved` (event "
    "`complaint.resolution_accepted`; every deadline stops). Other statuses are 409 "
    "`wrong_status`." + AS_REPORTER,
    responses={
        **REPORTER_RESPONSES,
        409: {"model": Problem, "description": "Not awaiting the reporter's answer"},
    },
)
async def accept(
    tracking_id: TrackingId,
    principal: Reporter,
    service: ServiceDep,
    body: AcceptIn | None = None,
    reporter_token: ReporterToken = None,
) -> Any:
    return _complaint(await service.accept(principal, tracking_id, reporter_token))


@router.post(
    "/complaints/{tracking_id}/rating",
    status_code=201,
    response_model=RatingOut,
    summary="Rate the resolution",
    description="The reporter rates how the complaint was handled, 1 to 5, with an optional "
    "comment (event `complaint.rated`; the comment rides in it unless the complaint is "
    "confidential). Once per complaint (409 `already_rated`), and only when it is resolved "
    "(409 `wrong_status`); a rating outside 1–5 is 422 naming `/rating`." + AS_REPORTER,
    responses={
        **REPORTER_RESPONSES,
        409: {"model": Problem, "description": "Not resolved, or rated already"},
    },
)
async def rate(
    tracking_id: TrackingId,
    body: RatingIn,
    principal: Reporter,
    service: ServiceDep,
    reporter_token: ReporterToken = None,
) -> RatingOut:
    return await service.rate(principal, tracking_id, reporter_token, body.rating, body.comment)


@router.post(
    "/complaints/{tracking_id}/reopen",
    response_model=ComplaintOut,
    summary="Reopen a resolved complaint",
    description="The reporter reopens a resolved complaint whose resolution did not hold, up "
    "to the end of the 10th working day after the resolution (weekends, public holidays and "
    "cuti bersama do not count; the region's time zone): `resolved` → `in_progress` (event "
    "`complaint.reopened` with the reason), and the handling agencies' deadlines start again. "
    "Later is 409 `reopen_window_closed` (file a new complaint); a complaint that is not "
    "resolved is 409 `wrong_status`." + AS_REPORTER,
    responses={
        **REPORTER_RESPONSES,
        409: {"model": Problem, "description": "Too late, or not resolved"},
    },
)
async def reopen(
    tracking_id: TrackingId,
    body: ReopenIn,
    principal: Reporter,
    service: ServiceDep,
    reporter_token: ReporterToken = None,
) -> Any:
    return _complaint(await service.reopen(principal, tracking_id, reporter_token, body.reason))


@router.post(
    "/complaints/{tracking_id}/follow",
    response_model=FollowOut,
    status_code=201,
    summary="Follow a complaint",
    description="A signed-in citizen follows a complaint (typically one the create answer "
    "listed in `possible_duplicates`) and gets its notifications: event `complaint.followed` "
    "with the account id. 201 when you start following, 200 when you already did. A "
    "confidential complaint is followed by its reporter only (403); an archived or duplicate "
    "one not at all (409 `wrong_status`).",
    responses={
        **PROBLEM_RESPONSES,
        **NOT_FOUND,
        200: {"model": FollowOut, "description": "You already follow it"},
        403: {"model": Problem, "description": "Not a citizen, or a confidential complaint"},
        409: {"model": Problem, "description": "Archived or a duplicate"},
    },
)
async def follow(
    tracking_id: TrackingId, principal: Follower, service: ServiceDep, response: Response
) -> FollowOut:
    answer, started = await service.follow(principal, tracking_id)
    if not started:
        response.status_code = 200
    return answer


@router.delete(
    "/complaints/{tracking_id}/follow",
    status_code=204,
    summary="Stop following a complaint",
    description="No more notifications of it (event `complaint.unfollowed`). Answers 204 also "
    "when you did not follow it.",
    responses={**PROBLEM_RESPONSES, **NOT_FOUND},
)
async def unfollow(tracking_id: TrackingId, principal: Follower, service: ServiceDep) -> Response:
    await service.unfollow(principal, tracking_id)
    return Response(status_code=204)


@router.get(
    "/me/complaints/following",
    tags=["me"],
    response_model=Page[ComplaintSummary],
    summary="Complaints I follow",
    description="The complaints you follow as a signed-in citizen, newest first.",
    responses=PROBLEM_RESPONSES,
)
async def following(
    principal: Follower,
    service: ServiceDep,
    cursor: Annotated[
        str | None, Query(max_length=200, description="`next_cursor` of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> Page[ComplaintSummary]:
    return await service.following(principal, cursor, limit)
