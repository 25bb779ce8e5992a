"""Attachments: the reporter's files of a complaint, and an agency's files of its follow-up.
Never commits: the request edge does.

Who may see them: whoever may see the complaint's content (services/privacy.py): for a
confidential complaint its reporter, the assigned agencies and admins; anyone else gets 404 as
for the complaint itself. The uploader's file name only for those who may see the reporter's
content of any complaint (reporter, assigned agencies, admins).

Who may add them: the reporter (account or X-Reporter-Token) while the complaint is open, up to
ADUAN_ATTACHMENT_MAX_PER_COMPLAINT files; an agency (its staff or key, or an admin) to a
follow-up its agency gave (`follow_up_id`), up to as many per follow-up."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession
from uuid6 import uuid7

from intake.attachments.mp4 import scrub_mp4
from intake.attachments.repository import AttachmentRepository
from intake.attachments.schemas import AttachmentOut
from intake.attachments.upload import (
    MediaKind,
    Upload,
    decide_kind,
    digest,
    read_upload,
    reencode_image,
)
from intake.repository import ComplaintRepository
from intake.service import facts
from services.complaints import record_complaint_event
from services.domain.lifecycle import Status
from services.events.catalogue import EventType
from services.models import Complaint, ComplaintAttachment
from services.policy import not_visible
from services.principal import AGENCY_ROLES, Principal, Role
from services.privacy import Audience, audience_for, shows_content
from services.problems import ProblemError
from services.settings import Settings
from services.storage import MediaStorage

CLOSED = frozenset({Status.resolved, Status.archived, Status.duplicate})
SEES_FILENAMES = frozenset({Audience.reporter, Audience.assigned_agency, Audience.admin})
AGENCY_SIDE = AGENCY_ROLES | {Role.admin}


def attachment_out(row: ComplaintAttachment, tracking_id: str, audience: Audience) -> AttachmentOut:
    return AttachmentOut(
        id=row.id,
        content_type=row.content_type,
        size=row.size,
        sha256=row.sha256,
        filename=row.filename if audience in SEES_FILENAMES else None,
        uploaded_by="agency" if row.uploaded_by == "agency" else "reporter",
        follow_up_id=row.follow_up_id,
        created_at=row.created_at,
        url=f"/api/v1/complaints/{tracking_id}/attachments/{row.id}",
    )


def download_name(row: ComplaintAttachment, audience: Audience) -> str:
    if row.filename and audience in SEES_FILENAMES:
        return row.filename
    return f"lampiran-{row.id}.{MediaKind(row.content_type).extension}"


class AttachmentService:
    def __init__(self, session: AsyncSession, settings: Settings, storage: MediaStorage) -> None:
        self.session = session
        self.settings = settings
        self.storage = storage
        self.complaints = ComplaintRepository(session)
        self.attachments = AttachmentRepository(session)

    async def _visible(
        self, principal: Principal, tracking_id: str, reporter_token: str | None
    ) -> tuple[Complaint, Audience]:
        complaint = await self.complaints.by_tracking_id(tracking_id.upper())
        if complaint is None:
            raise not_visible("complaint with tracking id", tracking_id)
        audience = audience_for(principal, facts(complaint), reporter_token)
        if not shows_content(audience, complaint.confidential):
            raise not_visible("complaint with tracking id", tracking_id)
        return complaint, audience

    async def upload(
        self,
        principal: Principal,
        tracking_id: str,
        reporter_token: str | None,
        body: AsyncIterator[bytes],
        content_type: str | None,
    ) -> AttachmentOut:
        complaint, audience = await self._visible(principal, tracking_id, reporter_token)
        if audience is not Audience.reporter and principal.role not in AGENCY_SIDE:
            raise ProblemError(
                "forbidden", "only the reporter, or an agency for its follow-up, attaches files"
            )
        upload = await read_upload(body, content_type, self.settings.attachment_max_bytes)
        try:
            return await self._add(principal, complaint, audience, upload)
        finally:
            upload.close()

    async def _follow_up(self, principal: Principal, complaint: Complaint, raw: str) -> uuid.UUID:
        """The follow-up an agency attaches to: of this complaint, given by the caller's agency
        (or any, for an admin)."""
        if principal.role not in AGENCY_SIDE:
            raise ProblemError("forbidden", "only agencies attach files to follow-ups")
        unknown = ProblemError("validation_failed", errors=[("/follow_up_id", "unknown_follow_up")])
        try:
            follow_up_id = uuid.UUID(raw)
        except ValueError:
            raise unknown from None
        follow_up = await self.attachments.follow_up(follow_up_id)
        if (
            follow_up is None
            or follow_up.complaint_id != complaint.id
            or not (principal.role is Role.admin or principal.covers_agency(follow_up.agency_id))
        ):
            raise unknown
        return follow_up.id

    async def _add(
        self, principal: Principal, complaint: Complaint, audience: Audience, upload: Upload
    ) -> AttachmentOut:
        raw_follow_up = upload.fields.get("follow_up_id")
        if raw_follow_up:
            follow_up_id: uuid.UUID | None = await self._follow_up(
                principal, complaint, raw_follow_up
            )
        else:
            follow_up_id = None
            if audience is not Audience.reporter:
                raise ProblemError(
                    "validation_failed",
                    "agencies attach files to their follow-ups: send follow_up_id",
                    errors=[("/follow_up_id", "missing")],
                )
            if Status(complaint.status) in CLOSED:
                raise ProblemError(
                    "conflict",
                    f"the complaint is {complaint.status}",
                    errors=[("/tracking_id", "complaint_closed")],
                )
        limit = self.settings.attachment_max_per_complaint
        if await self.attachments.count(complaint.id, follow_up_id) >= limit:
            raise ProblemError(
                "conflict",
                f"at most {limit} files each",
                errors=[("/file", "too_many_attachments")],
            )

        kind = decide_kind(upload)
        stored, size = upload.file, upload.size
        if kind.is_image:
            stored, size = await asyncio.to_thread(
                reencode_image, upload.file, kind, self.settings.attachment_max_pixels
            )
        elif kind is MediaKind.mp4:
            await asyncio.to_thread(scrub_mp4, upload.file, upload.size)
        try:
            sha256 = await asyncio.to_thread(digest, stored)
            await self.storage.put(sha256, stored, size=size, content_type=kind.value)
        finally:
            if stored is not upload.file:
                stored.close()

        # Again under the complaint's lock: a concurrent upload may have taken the last place.
        # (The file stays stored then, unreferenced: content-addressed, it harms nobody.)
        await self.attachments.lock(complaint.id)
        if await self.attachments.count(complaint.id, follow_up_id) >= limit:
            raise ProblemError(
                "conflict",
                f"at most {limit} files each",
                errors=[("/file", "too_many_attachments")],
            )
        by = "agency" if follow_up_id is not None else "reporter"
        row = ComplaintAttachment(
            id=uuid.UUID(str(uuid7())),
            complaint_id=complaint.id,
            follow_up_id=follow_up_id,
            sha256=sha256,
            content_type=kind.value,
            size=size,
            filename=upload.filename,
            uploaded_by=by,
            actor_role=principal.role.value,
            actor_id=principal.subject,
            created_at=datetime.now(UTC),
        )
        event = record_complaint_event(
            self.session,
            complaint,
            EventType.complaint_attachment_added,
            actor=principal,
            attachment_id=str(row.id),
            content_type=kind.value,
            size=size,
            by=by,
            follow_up_id=str(follow_up_id) if follow_up_id else None,
        )
        row.event_id = event.id
        await self.attachments.add(row)
        return attachment_out(row, complaint.tracking_id, audience)

    async def list(
        self, principal: Principal, tracking_id: str, reporter_token: str | None
    ) -> list[AttachmentOut]:
        complaint, audience = await self._visible(principal, tracking_id, reporter_token)
        rows = await self.attachments.of_complaint(complaint.id)
        return [attachment_out(r, complaint.tracking_id, audience) for r in rows]

    async def open(
        self,
        principal: Principal,
        tracking_id: str,
        attachment_id: uuid.UUID,
        reporter_token: str | None,
    ) -> tuple[ComplaintAttachment, str]:
        """The attachment and the file name to offer; its bytes: `storage.stream(row.sha256)`."""
        complaint, audience = await self._visible(principal, tracking_id, reporter_token)
        row = await self.attachments.get(complaint.id, attachment_id)
        if row is None or not await self.storage.exists(row.sha256):
            raise not_visible("attachment", attachment_id)
        return row, download_name(row, audience)
