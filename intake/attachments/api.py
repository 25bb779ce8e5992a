"""Attachment routes (thin): upload streams the multipart body into the service, download
streams the stored bytes back."""

import uuid
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, Path, Request, Response
from fastapi.responses import StreamingResponse

from intake.attachments.schemas import AttachmentOut
from intake.attachments.service import AttachmentService
from services.deps import SessionDep, SettingsDep
from services.policy import Permission, Requires
from services.principal import Principal
from services.problems import PROBLEM_RESPONSES, Problem
from services.storage import MediaStorage, storage_for

router = APIRouter(prefix="/api/v1", tags=["attachments"])


async def get_storage(settings: SettingsDep) -> MediaStorage:
    return storage_for(settings)


async def get_attachment_service(
    session: SessionDep,
    settings: SettingsDep,
    storage: Annotated[MediaStorage, Depends(get_storage)],
) -> AttachmentService:
    return AttachmentService(session, settings, storage)


ServiceDep = Annotated[AttachmentService, Depends(get_attachment_service)]
StorageDep = Annotated[MediaStorage, Depends(get_storage)]
ReporterToken = Annotated[
    str | None,
    Header(
        alias="X-Reporter-Token",
        max_length=128,
        description="The complaint's `reporter_token`: act as its reporter without an account",
    ),
]
TrackingId = Annotated[
    str,
    Path(max_length=16, description="The complaint's tracking id", examples=["ADN-7K3QX9P2"]),
]
PRIVACY = (
    " A confidential complaint's files are seen only by its reporter, the assigned agencies and "
    "admins; anyone else gets 404, as for the complaint itself."
)
UPLOAD_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "One JPEG, PNG, WebP, PDF or MP4 file",
                    },
                    "follow_up_id": {
                        "type": "string",
                        "format": "uuid",
                        "description": "Agencies: the follow-up (tindak lanjut) the file "
                        "belongs to; reporters leave it out",
                    },
                },
            },
            "encoding": {
                "file": {
                    "contentType": "image/jpeg, image/png, image/webp, application/pdf, video/mp4"
                }
            },
            # A binary part has no JSON example; this shows the form's shape.
            "example": {"file": "(binary: foto-jalan.jpg)"},
        }
    },
}


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback name and the UTF-8 one (RFC 6266 / 8187)."""
    fallback = "".join(c if c.isascii() and (c.isalnum() or c in "._-") else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


@router.post(
    "/complaints/{tracking_id}/attachments",
    status_code=201,
    response_model=AttachmentOut,
    summary="Attach a file",
    description=(
        "Uploads one file as `multipart/form-data` (field `file`), streamed: JPEG, PNG, WebP, "
        "PDF or MP4, at most `ADUAN_ATTACHMENT_MAX_BYTES` (10 MB by default). The type is "
        "decided by the file's bytes; a declared Content-Type or file name extension that "
        "disagrees is refused (415), as is any other type. Photos are re-encoded with their "
        "orientation applied and without any metadata: no EXIF, so no GPS position of the "
        "reporter's home survives. Videos keep their frames but lose their metadata boxes "
        "(`udta`, `meta`, `uuid`: where and on what they were shot), a box structure that "
        "does not add up is 422 `unreadable_file`. The file name is kept as sanitised text only. "
        "The reporter (account or `X-Reporter-Token`) attaches up to "
        "`ADUAN_ATTACHMENT_MAX_PER_COMPLAINT` (5) files while the complaint is open; an agency "
        "(its staff or key, or an admin) attaches as many to a follow-up its agency gave, "
        "naming it in `follow_up_id`. Records `complaint.attachment_added`." + PRIVACY
    ),
    openapi_extra={"requestBody": UPLOAD_BODY},
    responses={
        **PROBLEM_RESPONSES,
        400: {"model": Problem, "description": "Malformed multipart body"},
        403: {"model": Problem, "description": "Not the reporter, nor an agency"},
        404: {"model": Problem, "description": "Unknown tracking id, or not visible to you"},
        409: {"model": Problem, "description": "Complaint closed, or the files' limit reached"},
        413: {"model": Problem, "description": "File (or body) over the limit"},
        415: {
            "model": Problem,
            "description": "Not multipart, a type other than JPEG/PNG/WebP/PDF/MP4, or the "
            "declared type or extension disagrees with the bytes",
        },
    },
)
async def upload_attachment(
    tracking_id: TrackingId,
    request: Request,
    response: Response,
    principal: Annotated[Principal, Requires(Permission.attachment_upload)],
    service: ServiceDep,
    reporter_token: ReporterToken = None,
) -> AttachmentOut:
    added = await service.upload(
        principal,
        tracking_id,
        reporter_token,
        request.stream(),
        request.headers.get("content-type"),
    )
    response.headers["Location"] = added.url
    return added


@router.get(
    "/complaints/{tracking_id}/attachments",
    response_model=list[AttachmentOut],
    summary="List a complaint's files",
    description="The reporter's files and those the agencies attached to their follow-ups, "
    "oldest first. The uploader's file name only for the reporter, the assigned agencies and "
    "admins." + PRIVACY,
    responses={404: {"model": Problem, "description": "Unknown tracking id, or not visible"}},
)
async def list_attachments(
    tracking_id: TrackingId,
    principal: Annotated[Principal, Requires(Permission.complaint_read)],
    service: ServiceDep,
    reporter_token: ReporterToken = None,
) -> list[AttachmentOut]:
    return await service.list(principal, tracking_id, reporter_token)


@router.get(
    "/complaints/{tracking_id}/attachments/{attachment_id}",
    response_class=StreamingResponse,
    summary="Download a file",
    description="The stored bytes with their Content-Type, as an attachment (a safe file name "
    "in Content-Disposition) and `X-Content-Type-Options: nosniff`, so a browser never runs "
    "them as a page." + PRIVACY,
    responses={
        200: {
            "description": "The file",
            "content": {
                "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                "image/png": {"schema": {"type": "string", "format": "binary"}},
                "image/webp": {"schema": {"type": "string", "format": "binary"}},
                "application/pdf": {"schema": {"type": "string", "format": "binary"}},
                "video/mp4": {"schema": {"type": "string", "format": "binary"}},
            },
        },
        404: {"model": Problem, "description": "Unknown complaint or file, or not visible"},
    },
)
async def download_attachment(
    tracking_id: TrackingId,
    attachment_id: Annotated[uuid.UUID, Path(examples=["019ad2c1-5f0e-7c3a-9b1e-2a4c6d8e0f12"])],
    principal: Annotated[Principal, Requires(Permission.complaint_read)],
    service: ServiceDep,
    storage: StorageDep,
    reporter_token: ReporterToken = None,
) -> StreamingResponse:
    row, filename = await service.open(principal, tracking_id, attachment_id, reporter_token)
    return StreamingResponse(
        storage.stream(row.sha256),
        media_type=row.content_type,
        headers={
            "Content-Length": str(row.size),
            "Content-Disposition": content_disposition(filename),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
