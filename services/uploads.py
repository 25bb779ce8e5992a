"""Which requests are file uploads. They get a larger body limit than the JSON API, at the
gateway and at the services alike (both check the same rule), and their bodies are spooled to
disk past `SPOOL_IN_MEMORY` bytes instead of being held in memory."""

import re
import tempfile
from typing import IO

from services.settings import Settings

# POST /api/v1/complaints/{tracking_id}/attachments (intake/attachments/api.py)
UPLOAD_PATH = re.compile(r"^/api/v1/complaints/[^/]+/attachments/?$")
# GET /api/v1/complaints/{tracking_id}/attachments/{id} and the exports
# (/api/v1/exports/complaints.csv|.xlsx): the gateway relays them as they stream, with no
# total timeout (a million-row export takes minutes) and without holding them whole.
DOWNLOAD_PATH = re.compile(r"^/api/v1/(complaints/[^/]+/attachments/[^/]+|exports/[^/]+)/?$")
SPOOL_IN_MEMORY = 1_048_576
CHUNK = 65_536


def is_upload(method: str, path: str) -> bool:
    return method.upper() == "POST" and UPLOAD_PATH.match(path) is not None


def is_download(method: str, path: str) -> bool:
    return method.upper() == "GET" and DOWNLOAD_PATH.match(path) is not None


def upload_body_limit(settings: Settings) -> int:
    return max(settings.upload_max_body_bytes, settings.max_body_bytes)


def body_limit(settings: Settings, method: str, path: str) -> int:
    return upload_body_limit(settings) if is_upload(method, path) else settings.max_body_bytes


def spool() -> IO[bytes]:
    """A scratch file: in memory while small, on disk beyond SPOOL_IN_MEMORY bytes."""
    return tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
