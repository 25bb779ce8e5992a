"""Scratch test databases: created on the given server, built by Alembic, seeded, dropped."""

import asyncio
import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Iterator

from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from services.cli import alembic_upgrade
from services.db import SessionMaker, create_sessionmaker
from services.seed import seed_reference_data


async def _admin_execute(server_url: str, statement: str) -> None:
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


async def _seed(url: str) -> None:
    engine = create_async_engine(url)
    try:
        async with create_sessionmaker(engine)() as session:
            await seed_reference_data(session)
            await session.commit()
    finally:
        await engine.dispose()


@contextlib.contextmanager
def scratch_database(server_url: str, prefix: str) -> Iterator[str]:
    """Yield the URL of a fresh, migrated and seeded database; drop it afterwards."""
    name = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_admin_execute(server_url, f'CREATE DATABASE "{name}"'))
    try:
        alembic_upgrade(url)
        asyncio.run(_seed(url))
        yield url
    finally:
        asyncio.run(_admin_execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@contextlib.asynccontextmanager
async def rolled_back(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """One connection inside a transaction that is rolled back afterwards."""
    async with engine.connect() as conn:
        transaction = await conn.begin()
        yield conn
        if transaction.is_active:
            await transaction.rollback()


def savepoint_sessionmaker(connection: AsyncConnection) -> SessionMaker:
    """Sessions on `connection` whose commits become savepoints of its transaction."""
    maker = create_sessionmaker(connection)  # type: ignore[arg-type]
    maker.configure(join_transaction_mode="create_savepoint")
    return maker
