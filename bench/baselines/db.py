"""Baseline (b): FastAPI + one asyncpg INSERT per request into a scratch table.

BENCH_DSN: the database (a SQLAlchemy or libpq URL); BENCH_POOL_SIZE: the pool's size, the
load's connection count.
"""

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg  # type: ignore[import-untyped]
from fastapi import FastAPI

from bench.baselines.schema import ComplaintIn

TABLE = "bench_baseline_complaints"
CREATE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id uuid PRIMARY KEY,
    title text NOT NULL,
    description text NOT NULL,
    category text NOT NULL,
    region_code text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""
INSERT = (
    f"INSERT INTO {TABLE} (id, title, description, category, region_code, payload) "
    "VALUES ($1, $2, $3, $4, $5, $6::jsonb)"
)


def libpq_dsn(url: str) -> str:
    """asyncpg takes postgresql://…; SQLAlchemy URLs say postgresql+asyncpg://…."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+')[0]}{sep}{rest}"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    size = int(os.environ.get("BENCH_POOL_SIZE", "32"))
    pool = await asyncpg.create_pool(
        libpq_dsn(os.environ["BENCH_DSN"]), min_size=size, max_size=size
    )
    async with pool.acquire() as conn:
        await conn.execute(CREATE_TABLE)
    app.state.pool = pool
    try:
        yield
    finally:
        await pool.close()


app = FastAPI(lifespan=lifespan)


@app.post("/api/v1/complaints", status_code=201)
async def create(payload: ComplaintIn) -> dict[str, Any]:
    complaint_id = uuid.uuid4()
    await app.state.pool.execute(
        INSERT,
        complaint_id,
        payload.title,
        payload.description,
        payload.category,
        payload.region_code,
        payload.model_dump_json(),
    )
    return {"id": str(complaint_id), "status": "submitted", "title": payload.title}
