"""A real HTTP server on loopback standing in for a regional government's webhook receiver.

It checks every body it receives against the event-type catalogue (the JSON Schemas that
`GET /api/v1/webhooks/event-types` serves, built by the same code): a test whose receiver got a
body the catalogue does not describe fails when the receiver stops."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from notifications.payloads import catalogue
from services.embedded import free_port


def catalogue_schemas() -> dict[str, dict[str, Any]]:
    return {entry["type"]: entry["schema"] for entry in catalogue()}


def invalid_payload(body: bytes, schemas: dict[str, dict[str, Any]]) -> str | None:
    """Why `body` is not a webhook body the catalogue describes, or None."""
    try:
        payload = json.loads(body)
    except ValueError as exc:
        return f"not JSON: {exc}"
    schema = schemas.get(payload.get("type")) if isinstance(payload, dict) else None
    if schema is None:
        return f"no event type of the catalogue: {body[:200]!r}"
    try:
        jsonschema.validate(payload, schema)
    except jsonschema.ValidationError as exc:
        return f"{payload['type']}: {exc.message} at {list(exc.absolute_path)}"
    return None


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    port: int
    received: list[Received] = field(default_factory=list)
    # Answers to give, in order (status code, or a Response); then `default`.
    script: list[int | Response] = field(default_factory=list)
    default: int = 204
    delay: float = 0.0  # seconds to wait before answering
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    schemas: dict[str, dict[str, Any]] = field(default_factory=catalogue_schemas)
    invalid: list[str] = field(default_factory=list)  # bodies the catalogue does not describe
    check_payloads: bool = True  # off only for tests of raw HTTP, not of webhook bodies

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        self.received.append(Received(dict(request.headers), body))
        problem = invalid_payload(body, self.schemas) if self.check_payloads else None
        if problem is not None:
            self.invalid.append(problem)
        self.arrived.set()
        if self.delay:
            await asyncio.sleep(self.delay)
        answer = self.script.pop(0) if self.script else self.default
        return answer if isinstance(answer, Response) else Response(status_code=answer)

    async def wait_for(self, count: int, seconds: float = 30) -> list[Received]:
        async with asyncio.timeout(seconds):
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.received


@contextlib.asynccontextmanager
async def running_receiver(*, webhooks: bool = True) -> AsyncIterator[Receiver]:
    """A loopback HTTP receiver; `webhooks=False` for other bodies (push, SMS gateways)."""
    receiver = Receiver(port=free_port(), check_payloads=webhooks)
    app = Starlette(routes=[Route("/hooks", receiver.handle, methods=["POST"])])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=receiver.port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(10):
        while not server.started:  # noqa: ASYNC110 - uvicorn offers only this flag
            await asyncio.sleep(0.02)
    try:
        yield receiver
    finally:
        server.should_exit = True
        await task
    assert receiver.invalid == [], f"bodies outside the event-type catalogue: {receiver.invalid}"
