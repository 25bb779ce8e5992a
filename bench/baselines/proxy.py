"""Baseline (c): a minimal pass-through proxy on aiohttp.ClientSession (BENCH_UPSTREAM)."""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from fastapi import FastAPI, Request, Response


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    connector = aiohttp.TCPConnector(limit=200)
    async with aiohttp.ClientSession(
        base_url=os.environ["BENCH_UPSTREAM"],
        connector=connector,
        timeout=aiohttp.ClientTimeout(total=30),
    ) as session:
        app.state.session = session
        yield


app = FastAPI(lifespan=lifespan)


@app.api_route("/{path:path}", methods=["GET", "POST"])
async def forward(path: str, request: Request) -> Response:
    session: aiohttp.ClientSession = app.state.session
    headers = {"content-type": request.headers.get("content-type", "application/json")}
    async with session.request(
        request.method, "/" + path, data=await request.body(), headers=headers
    ) as upstream:
        content = await upstream.read()
        return Response(
            content,
            status_code=upstream.status,
            media_type=upstream.headers.get("content-type"),
        )
