"""Load generators: wrk (closed loop, a Lua script for the POST body) and an open-loop one.

wrk comes from Debian's packages; when it is not on PATH the harness installs it
(`apt-get install -y wrk`). Where that is impossible, `python_load` stands in, with the same
result shape and `tool` saying which one ran.
"""

import asyncio
import contextlib
import json
import logging
import math
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import aiohttp

from bench.stack import die_with_parent

log = logging.getLogger("bench")
WRK_MARK = "BENCH-WRK "


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of `values`; nan when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def median(values: Sequence[float]) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


@dataclass
class LoadResult:
    """One closed-loop run: `connections` clients sending back to back for `duration_s`."""

    tool: str
    connections: int
    duration_s: float
    requests: int
    ok: int  # answers with the expected status
    other_status: int
    socket_errors: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float

    @property
    def ok_per_s(self) -> float:
        return self.ok / self.duration_s if self.duration_s > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"ok_per_s": round(self.ok_per_s, 1)}


def ensure_wrk() -> str | None:
    """wrk's path, installing Debian's package when missing and possible; None otherwise."""
    found = shutil.which("wrk")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    log.info("wrk is not installed: apt-get install -y wrk")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    for argv in (install, ["apt-get", "update", "-q"], install):
        try:
            subprocess.run(argv, env=env, capture_output=True, timeout=300, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("%s: %r", " ".join(argv), exc)
        if argv is install and shutil.which("wrk"):
            break
    return shutil.which("wrk")


def wrk_script(body: bytes, expected_status: int) -> str:
    """POST `body`; count answers by status per thread; print one JSON line at the end."""
    body_literal = json.dumps(body.decode())  # a JSON string is a valid Lua string literal
    return f"""
wrk.method = "POST"
wrk.body = {body_literal}
wrk.headers["Content-Type"] = "application/json"
local threads = {{}}
function setup(thread) table.insert(threads, thread) end
function init(args) ok = 0; other = 0 end
function response(status, headers, body)
  if status == {expected_status} then ok = ok + 1 else other = other + 1 end
end
function done(summary, latency, requests)
  local o, x = 0, 0
  for _, t in ipairs(threads) do o = o + t:get("ok"); x = x + t:get("other") end
  local e = summary.errors
  io.write(string.format(
    '{WRK_MARK}{{"requests":%d,"duration_us":%d,"ok":%d,"other":%d,'
    .. '"errors":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}}\\n',
    summary.requests, summary.duration, o, x,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""


async def run_wrk(
    wrk: str,
    url: str,
    body: bytes,
    *,
    connections: int,
    duration: float,
    threads: int = 1,
    expected_status: int = 201,
) -> LoadResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(wrk_script(body, expected_status))
    seconds = max(1, round(duration))
    argv = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        script.name,
        url,
    ]
    process = await asyncio.create_subprocess_exec(
        *argv,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        stdin=asyncio.subprocess.DEVNULL,
        preexec_fn=die_with_parent,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), seconds + 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        os.unlink(script.name)
    text = output.decode(errors="replace")
    line = next((ln for ln in text.splitlines() if ln.startswith(WRK_MARK)), None)
    if process.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed (exit {process.returncode}):\n{text[-2000:]}")
    data = json.loads(line[len(WRK_MARK) :])
    return LoadResult(
        tool="wrk",
        connections=connections,
        duration_s=data["duration_us"] / 1e6,
        requests=data["requests"],
        ok=data["ok"],
        other_status=data["other"],
        socket_errors=data["errors"],
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
    )


async def python_load(
    url: str,
    body: bytes,
    *,
    connections: int,
    duration: float,
    expected_status: int = 201,
) -> LoadResult:
    """The stand-in for wrk: `connections` aiohttp clients in this process, back to back."""
    latencies: list[float] = []
    counts = {"ok": 0, "other": 0, "errors": 0}
    headers = {"content-type": "application/json"}
    connector = aiohttp.TCPConnector(limit=connections)
    timeout = aiohttp.ClientTimeout(total=10)
    started = time.monotonic()
    deadline = started + duration

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:

        async def client() -> None:
            for _ in range(10_000_000):  # bounded; the deadline ends it long before
                if time.monotonic() >= deadline:
                    return
                sent = time.monotonic()
                try:
                    async with http.post(url, data=body, headers=headers) as response:
                        await response.read()
                        status = response.status
                except (aiohttp.ClientError, TimeoutError):
                    counts["errors"] += 1
                    continue
                latencies.append((time.monotonic() - sent) * 1000)
                counts["ok" if status == expected_status else "other"] += 1

        await asyncio.gather(*(client() for _ in range(connections)))
    elapsed = time.monotonic() - started
    return LoadResult(
        tool="python-aiohttp (wrk unavailable)",
        connections=connections,
        duration_s=elapsed,
        requests=len(latencies) + counts["errors"],
        ok=counts["ok"],
        other_status=counts["other"],
        socket_errors=counts["errors"],
        p50_ms=percentile(latencies, 50),
        p90_ms=percentile(latencies, 90),
        p99_ms=percentile(latencies, 99),
        max_ms=max(latencies, default=math.nan),
    )


@dataclass
class ClosedLoop:
    """wrk when it is there (or can be installed), else the Python stand-in if allowed."""

    allow_fallback: bool
    wrk: str | None = field(default=None, init=False)
    checked: bool = field(default=False, init=False)

    def tool(self) -> str:
        if not self.checked:
            self.wrk = ensure_wrk()
            self.checked = True
        if self.wrk:
            return self.wrk
        if not self.allow_fallback:
            raise RuntimeError("wrk is not installed and `apt-get install -y wrk` failed")
        return "python"

    def version(self) -> str:
        tool = self.tool()
        if tool == "python":
            return "python-aiohttp (wrk unavailable)"
        result = subprocess.run([tool, "-v"], capture_output=True, text=True, check=False)
        match = re.search(r"wrk \S+", result.stdout + result.stderr)
        return match.group(0) if match else "wrk"

    async def run(self, url: str, body: bytes, *, connections: int, duration: float) -> LoadResult:
        tool = self.tool()
        if tool == "python":
            return await python_load(url, body, connections=connections, duration=duration)
        return await run_wrk(tool, url, body, connections=connections, duration=duration)


@dataclass
class Submitted:
    """One request of an open-loop run."""

    index: int
    scheduled: float  # monotonic seconds
    sent: float
    answered: float | None = None
    status: int | None = None
    body: dict[str, Any] | None = None
    error: str | None = None


async def open_loop(
    url: str,
    body: bytes,
    *,
    rate: float,
    duration: float,
    headers: dict[str, str] | None = None,
    request_timeout: float = 30.0,
) -> list[Submitted]:
    """Send `rate` requests a second for `duration` seconds whatever the answers' pace:
    request i leaves at start + i/rate, each on its own task."""
    total = max(1, round(rate * duration))
    results: list[Submitted] = []
    request_headers = {"content-type": "application/json"} | (headers or {})
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=request_timeout)
    ) as http:

        async def one(item: Submitted) -> None:
            try:
                async with http.post(url, data=body, headers=request_headers) as response:
                    raw = await response.read()
                    item.answered = time.monotonic()
                    item.status = response.status
                with contextlib.suppress(ValueError):
                    parsed = json.loads(raw)
                    item.body = parsed if isinstance(parsed, dict) else None
            except (aiohttp.ClientError, TimeoutError) as exc:
                item.error = repr(exc)

        tasks: list[asyncio.Task[None]] = []
        start = time.monotonic() + 0.05
        for i in range(total):
            scheduled = start + i / rate
            delay = scheduled - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            item = Submitted(i, scheduled, time.monotonic())
            results.append(item)
            tasks.append(asyncio.create_task(one(item)))
        await asyncio.gather(*tasks)
    return results
