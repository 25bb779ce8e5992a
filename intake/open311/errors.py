"""GeoReport v2's error answer: a JSON list of `{code, description}`, `code` the HTTP status.

Open311 clients switch on the status (400 a bad argument, 403 a bad api_key or a caller that may
not, 404 an unknown service or request), so the Open311 routes answer this list instead of the
platform's problem details. Each description names the failing argument first.
"""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

OPEN311_PREFIX = "/open311/v2"


class Open311ErrorItem(BaseModel):
    code: int = Field(examples=[400], description="The HTTP status of the answer")
    description: str = Field(
        examples=["description: must be 20 to 4000 characters long"],
        description="The failing argument, a colon, and what is wrong with it",
    )


class Open311Error(Exception):
    def __init__(
        self, status: int, *descriptions: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__("; ".join(descriptions))
        self.status = status
        self.descriptions = descriptions or ("request refused",)
        self.headers = headers


def error_response(
    status: int, descriptions: tuple[str, ...] | list[str], headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        [{"code": status, "description": d} for d in descriptions],
        status_code=status,
        headers=headers,
    )


async def _on_open311_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Open311Error)
    return error_response(exc.status, exc.descriptions, exc.headers)


def install_open311_errors(app: FastAPI) -> None:
    app.add_exception_handler(Open311Error, _on_open311_error)


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for the Open311 error list at these statuses."""
    meaning = {
        400: "A missing or invalid argument (the description names it)",
        403: "An invalid api_key, or a caller that may not do this",
        404: "Unknown service_code, service_request_id or token",
        409: "The same Idempotency-Key is in flight",
        429: "Too many requests; retry after `Retry-After` seconds",
    }
    return {
        status: {"model": list[Open311ErrorItem], "description": meaning[status]}
        for status in statuses
    }
