"""The embedded servers are real PostgreSQL and Redis, and keep their data across a restart."""

from pathlib import Path

import redis.asyncio as aioredis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from services.embedded import EmbeddedPostgres, EmbeddedRedis


async def test_postgres_keeps_data_across_restart(tmp_path: Path) -> None:
    for round_ in (1, 2):
        postgres = EmbeddedPostgres(tmp_path / "pg")
        url = postgres.start()
        engine = create_async_engine(url)
        try:
            async with engine.begin() as conn:
                if round_ == 1:
                    await conn.execute(text("CREATE TABLE kept (v text)"))
                    await conn.execute(text("INSERT INTO kept VALUES ('masih ada')"))
                else:
                    assert await conn.scalar(text("SELECT v FROM kept")) == "masih ada"
                    assert "PostgreSQL 16" in str(await conn.scalar(text("SELECT version()")))
        finally:
            await engine.dispose()
            postgres.stop()


async def test_redis_keeps_data_across_restart(tmp_path: Path) -> None:
    for round_ in (1, 2):
        server = EmbeddedRedis(tmp_path / "redis")
        client = aioredis.from_url(server.start())
        try:
            if round_ == 1:
                await client.set("kept", "masih ada")
            else:
                assert await client.get("kept") == b"masih ada"
        finally:
            await client.aclose()
            server.stop()
