"""Receivers of the dispatcher tests, real servers on loopback like tests/receiver.py:
one that accepts connections and never answers, and one that notes when each request starts and
ends (to see concurrency and order) and can answer per event."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from aiohttp import web

from services.embedded import free_port


@dataclass
class Hanging:
    port: int
    connections: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"


@contextlib.asynccontextmanager
async def hanging_receiver() -> AsyncIterator[Hanging]:
    """Accepts every connection, reads nothing, answers nothing, until the test ends."""
    hanging = Hanging(free_port())
    open_connections: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        hanging.connections += 1
        open_connections.append(writer)  # kept, so the connection stays open

    server = await asyncio.start_server(accept, "127.0.0.1", hanging.port)
    try:
        yield hanging
    finally:
        server.close()
        for writer in open_connections:
            writer.close()
        await server.wait_closed()


@dataclass
class Tracking:
    port: int
    delay: float = 0.0  # seconds before answering
    default: int = 204
    # Answers to give, in order, to the requests of one webhook-id (event id); then `default`.
    script: dict[str, list[int]] = field(default_factory=dict)
    # ("start" | "end", webhook-id) in the order they happened.
    log: list[tuple[str, str]] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    @property
    def ids(self) -> list[str]:
        """webhook-ids in the order the requests arrived."""
        return [webhook_id for kind, webhook_id in self.log if kind == "start"]

    @property
    def answered(self) -> int:
        return sum(1 for kind, _ in self.log if kind == "end")

    async def handle(self, request: web.Request) -> web.Response:
        webhook_id = request.headers["webhook-id"]
        await request.read()
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        self.log.append(("start", webhook_id))
        self.changed.set()
        try:
            if self.delay:
                await asyncio.sleep(self.delay)
            answers = self.script.get(webhook_id)
            status = answers.pop(0) if answers else self.default
        finally:
            self.in_flight -= 1
            self.log.append(("end", webhook_id))
            self.changed.set()
        return web.Response(status=status)

    async def wait_answered(self, count: int, seconds: float = 30) -> None:
        async with asyncio.timeout(seconds):
            while self.answered < count:
                self.changed.clear()
                await self.changed.wait()


@contextlib.asynccontextmanager
async def tracking_receiver() -> AsyncIterator[Tracking]:
    tracking = Tracking(free_port())
    app = web.Application()
    app.router.add_post("/hooks", tracking.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", tracking.port).start()
    try:
        yield tracking
    finally:
        await runner.cleanup()
