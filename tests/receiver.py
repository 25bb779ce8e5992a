"""A real HTTP server on loopback standing in for a regional government's webhook receiver."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.embedded import free_port


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

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def handle(self, request: Request) -> Response:
        self.received.append(Received(dict(request.headers), await request.body()))
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
async def running_receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver(port=free_port())
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
