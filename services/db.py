"""Database engine and sessions. Sessions commit only at the edges (see services.uow)."""

from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from services.settings import Settings

SessionMaker = async_sessionmaker[AsyncSession]


def create_engine(settings: Settings, *, pool_size: int | None = None) -> AsyncEngine:
    size = pool_size if pool_size is not None else settings.db_pool_size
    return create_async_engine(
        settings.require_database_url(),
        pool_size=size,
        max_overflow=settings.db_max_overflow,
        # No pre-ping: it costs a round trip per checkout. SQLAlchemy invalidates a connection
        # whose query failed on a disconnect, and the edges turn that failure into a 503 or a
        # job retry; recycling bounds a connection's age for proxies that cut idle ones.
        pool_pre_ping=False,
        pool_recycle=settings.db_pool_recycle_seconds,
        # Failed statements' bound values (reporters' emails, phones) never reach logs.
        hide_parameters=True,
        connect_args={"timeout": 5, "command_timeout": 30},
    )


def create_sessionmaker(engine: AsyncEngine) -> SessionMaker:
    return async_sessionmaker(engine, expire_on_commit=False)
