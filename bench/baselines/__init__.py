"""Baselines for P1 and P3, each run as its own process.

- `bare`: FastAPI, one pydantic POST route answering 201 (a);
- `db`: the same plus one asyncpg INSERT per request into a scratch table (b);
- `proxy`: a pass-through FastAPI app on aiohttp.ClientSession, in front of (b) (c);
- `noop_worker`: one arq worker running no-op jobs, with the project's worker settings (P3).

The HTTP ones run under uvicorn with the flags the services use: uvloop, httptools, no access log.
"""

import sys

UVICORN_FLAGS = ("--loop", "uvloop", "--http", "httptools", "--no-access-log")


def uvicorn_argv(app: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *UVICORN_FLAGS,
        "--log-level",
        "warning",
    ]
