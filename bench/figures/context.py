"""The run's configuration (Config) and what every figure is given (Context)."""

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp

from bench.figures.endpoints import deactivate_endpoint
from bench.load import ClosedLoop
from bench.stack import Platform, Stack


@dataclass
class Config:
    quick: bool
    duration: float | None = None  # overrides the length of each load run (P1 and P2)
    demo_complaints_arg: int | None = None  # --demo-complaints (P10)

    @property
    def p1_duration(self) -> float:
        return self.duration or (2.0 if self.quick else 10.0)

    @property
    def p1_rounds(self) -> int:
        return 1 if self.quick else 2

    @property
    def p1_warmup(self) -> float:
        # Quick runs warm up too: on a loaded machine the first creates (cold caches) can outlast
        # a one-second run, and a figure of 0 creates/s tells nothing.
        return 1.0 if self.quick else 3.0

    p1_connections: int = 32

    @property
    def p2_rate(self) -> float:
        return 10.0 if self.quick else 50.0

    @property
    def p2_duration(self) -> float:
        return self.duration or (3.0 if self.quick else 60.0)

    @property
    def p2_drain(self) -> float:
        return 20.0 if self.quick else 60.0

    @property
    def p3_events(self) -> int:
        return 1_000 if self.quick else 20_000

    @property
    def p3_rounds(self) -> int:
        return 1 if self.quick else 2

    @property
    def p5_deliveries(self) -> int:
        return 300 if self.quick else 20_000

    p5_endpoints: int = 20

    @property
    def p5_timeout(self) -> float:
        return 20.0 if self.quick else 300.0

    # P10 (issue 10): the demo set's size, and how hard each of its figures looks
    @property
    def demo_complaints(self) -> int:
        return self.demo_complaints_arg or (1_000 if self.quick else 1_000_000)

    @property
    def p10_rounds(self) -> int:
        return 3 if self.quick else 20

    @property
    def p10_creates(self) -> int:
        return 20 if self.quick else 300

    @property
    def p10_catch_up_timeout(self) -> float:
        return 60.0 if self.quick else 7200.0

    @property
    def drain_timeout(self) -> float:
        return 60.0 if self.quick else 180.0


@dataclass
class Context:
    stack: Stack
    config: Config
    load: ClosedLoop
    exits: contextlib.AsyncExitStack
    shared: Platform | None = None

    @contextlib.asynccontextmanager
    async def platform(self, tag: str) -> AsyncIterator[Platform]:
        """A fresh platform for the figure; in quick mode one platform shared by the figures
        that run the services, each figure leaving it as it found it (no receiver, baseline or
        active endpoint), to save the start-up of a platform per figure."""
        if not self.config.quick:
            async with self.stack.platform(tag) as platform:
                yield platform
            return
        if self.shared is None:
            self.shared = await self.exits.enter_async_context(self.stack.platform("shared"))
        platform = self.shared
        try:
            yield platform
        finally:
            platform.stop_extras()
            if platform.endpoints and platform.services_running():
                async with aiohttp.ClientSession() as http:
                    for endpoint_id in list(platform.endpoints):
                        await deactivate_endpoint(http, platform, endpoint_id)
