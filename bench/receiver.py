"""A fast loopback webhook receiver, run as its own process: `python -m bench.receiver --port N`.

POST /hooks/<name>: records (name, arrival time, event type, tracking id, webhook-id) and answers
200; a name starting with `slow` sleeps --slow-seconds first. It verifies nothing. Arrival times
are time.monotonic(), CLOCK_MONOTONIC: on Linux the same clock in every process of the machine,
so the harness compares them with its own.

GET /stats: counts; GET /records?offset=N: the records from N on; POST /reset: forget all.
"""

import argparse
import asyncio
import contextlib
import time
from typing import Any

import aiohttp
import orjson
from aiohttp import web

Record = tuple[str, float, str | None, str | None, str | None]
MAX_PAGE = 50_000


class Receiver:
    def __init__(self, slow_seconds: float) -> None:
        self.slow_seconds = slow_seconds
        self.records: list[Record] = []
        self.counts: dict[str, int] = {}

    async def hook(self, request: web.Request) -> web.Response:
        arrived = time.monotonic()
        name = request.match_info["name"]
        raw = await request.read()
        event_type = tracking_id = None
        with contextlib.suppress(ValueError, TypeError, AttributeError):
            body: Any = orjson.loads(raw)
            event_type = body.get("type")
            tracking_id = body.get("data", {}).get("tracking_id")
        self.records.append(
            (name, arrived, event_type, tracking_id, request.headers.get("webhook-id"))
        )
        key = f"{name}|{event_type}"
        self.counts[key] = self.counts.get(key, 0) + 1
        if name.startswith("slow") and self.slow_seconds > 0:
            await asyncio.sleep(self.slow_seconds)
        return web.Response(status=200)

    async def stats(self, request: web.Request) -> web.Response:
        body = {"total": len(self.records), "counts": self.counts, "now": time.monotonic()}
        return web.Response(body=orjson.dumps(body), content_type="application/json")

    async def list_records(self, request: web.Request) -> web.Response:
        offset = max(0, int(request.query.get("offset", "0")))
        page = self.records[offset : offset + MAX_PAGE]
        body = {"records": page, "next": offset + len(page), "total": len(self.records)}
        return web.Response(body=orjson.dumps(body), content_type="application/json")

    async def reset(self, request: web.Request) -> web.Response:
        self.records = []
        self.counts = {}
        return web.Response(status=204)


def build_app(slow_seconds: float) -> web.Application:
    receiver = Receiver(slow_seconds)
    app = web.Application()
    app.router.add_post("/hooks/{name}", receiver.hook)
    app.router.add_get("/stats", receiver.stats)
    app.router.add_get("/records", receiver.list_records)
    app.router.add_post("/reset", receiver.reset)
    return app


class ReceiverClient:
    """The harness's side: reads what a receiver process recorded."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{port}"

    def url(self, name: str) -> str:
        return f"{self.base}/hooks/{name}"

    async def _get(self, path: str) -> Any:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as http,
            http.get(self.base + path) as response,
        ):
            response.raise_for_status()
            return orjson.loads(await response.read())

    async def wait_ready(self, within: float = 30.0) -> None:
        deadline = time.monotonic() + within
        for _ in range(int(within / 0.1) + 10):
            if time.monotonic() > deadline:
                break
            with contextlib.suppress(aiohttp.ClientError, OSError):
                await self._get("/stats")
                return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"receiver on port {self.port} not up within {within:.0f} s")

    async def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = await self._get("/stats")
        return stats

    async def records(self) -> list[Record]:
        records: list[Record] = []
        for _ in range(1000):  # pages of MAX_PAGE: bounded
            page = await self._get(f"/records?offset={len(records)}")
            records += [tuple(r) for r in page["records"]]
            if not page["records"] or len(records) >= page["total"]:
                break
        return records

    async def reset(self) -> None:
        async with (
            aiohttp.ClientSession() as http,
            http.post(self.base + "/reset") as response,
        ):
            response.raise_for_status()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--slow-seconds", type=float, default=10.0)
    args = parser.parse_args()
    with contextlib.suppress(ImportError):
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    web.run_app(
        build_app(args.slow_seconds),
        host="127.0.0.1",
        port=args.port,
        access_log=None,
        print=None,
        shutdown_timeout=1.0,
        backlog=1024,
    )


if __name__ == "__main__":
    main()
