"""Complaint exports (CSV, XLSX) with the listing's filters, streamed in constant memory: rows
come through a server-side cursor a batch at a time; CSV goes out as it is written, XLSX is
written by xlsxwriter in `constant_memory` mode to a temporary file that is then streamed and
removed. The privacy rules apply per row (services/privacy.py): ops get no personal data (no
reporter columns at all, no content of confidential complaints); admins get everything."""

import csv
import io
import os
import tempfile
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import anyio
import anyio.to_thread
import xlsxwriter  # type: ignore[import-untyped]

from routing.stats.repository import export_query, stream_export
from services.db import SessionMaker
from services.domain.lifecycle import STATUS_LABELS, Status
from services.principal import Principal, Role
from services.privacy import Audience, redact

BASE_COLUMNS = (
    "tracking_id",
    "created_at",
    "report_type",
    "category",
    "region_code",
    "status",
    "status_label",
    "escalation_level",
    "returns",
    "anonymous",
    "confidential",
    "title",
    "description",
    "address",
)
REPORTER_COLUMNS = ("reporter_name", "reporter_email", "reporter_phone")
CHUNK = 64 * 1024


@dataclass(frozen=True)
class ExportFilter:
    region_prefix: str | None = None
    category: str | None = None
    report_type: str | None = None
    statuses: tuple[str, ...] = ()
    created_from: datetime | None = None
    created_to: datetime | None = None


def audience_of(principal: Principal) -> Audience:
    return Audience.admin if principal.role is Role.admin else Audience.ops


def columns_for(audience: Audience) -> tuple[str, ...]:
    return BASE_COLUMNS + (REPORTER_COLUMNS if audience is Audience.admin else ())


def _cells(row: Sequence[Any], audience: Audience) -> list[Any]:
    (
        tracking_id,
        created_at,
        report_type,
        category,
        region_code,
        status,
        escalation_level,
        returns,
        anonymous,
        confidential,
        title,
        description,
        address,
        name,
        email,
        phone,
    ) = row
    view = redact(
        {
            "title": title,
            "description": description,
            "address": address,
            "reporter": {"name": name, "email": email, "phone": phone},
        },
        audience,
        anonymous=anonymous,
        confidential=confidential,
    )
    reporter = view["reporter"] or {}
    cells = [
        tracking_id,
        created_at.isoformat(),
        report_type,
        category,
        region_code,
        status,
        STATUS_LABELS[Status(status)],
        escalation_level,
        returns,
        anonymous,
        confidential,
        view["title"],
        view["description"],
        view["address"],
    ]
    if audience is Audience.admin:
        cells += [reporter.get("name"), reporter.get("email"), reporter.get("phone")]
    return cells


async def _rows(
    sessionmaker: SessionMaker, where: ExportFilter, audience: Audience
) -> AsyncIterator[list[list[Any]]]:
    query = export_query(
        region_prefix=where.region_prefix,
        category=where.category,
        report_type=where.report_type,
        statuses=where.statuses,
        created_from=where.created_from,
        created_to=where.created_to,
    )
    async with sessionmaker() as session:
        async for batch in stream_export(session, query):
            yield [_cells(row, audience) for row in batch]


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: Any) -> Any:
    """A cell as text; one a spreadsheet would take for a formula is quoted (OWASP CSV
    injection): reporters write the titles and descriptions."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


async def csv_stream(
    sessionmaker: SessionMaker, where: ExportFilter, audience: Audience
) -> AsyncIterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")  # a BOM: spreadsheets then read the file as UTF-8
    writer.writerow(columns_for(audience))
    async for batch in _rows(sessionmaker, where, audience):
        writer.writerows([_csv_cell(c) for c in cells] for cells in batch)
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():
        yield buffer.getvalue().encode()


async def xlsx_stream(
    sessionmaker: SessionMaker, where: ExportFilter, audience: Audience
) -> AsyncIterator[bytes]:
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    try:
        # Reporters write the texts: never let one become a formula or a link in a spreadsheet.
        workbook = xlsxwriter.Workbook(
            path,
            {"constant_memory": True, "strings_to_urls": False, "strings_to_formulas": False},
        )
        sheet = workbook.add_worksheet("pengaduan")
        sheet.write_row(0, 0, columns_for(audience))
        line = 1
        async for batch in _rows(sessionmaker, where, audience):
            for cells in batch:
                sheet.write_row(line, 0, cells)
                line += 1
        await anyio.to_thread.run_sync(workbook.close)  # zips the sheet up: blocking
        async with await anyio.open_file(path, "rb") as produced:
            while chunk := await produced.read(CHUNK):
                yield chunk
    finally:
        os.unlink(path)


def file_name(extension: str, today: date) -> str:
    return f"pengaduan-{today.isoformat()}.{extension}"
