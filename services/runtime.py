"""What a service process holds for its lifetime: engine, sessions, Redis, publisher."""

from dataclasses import dataclass

from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncEngine

from services.db import SessionMaker, create_engine, create_sessionmaker
from services.events.outbox import Publisher
from services.queue import create_arq_redis
from services.settings import Settings


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessionmaker: SessionMaker
    redis: ArqRedis
    publisher: Publisher

    @classmethod
    def create(cls, settings: Settings) -> "Runtime":
        engine = create_engine(settings)
        sessionmaker = create_sessionmaker(engine)
        redis = create_arq_redis(settings)
        return cls(settings, engine, sessionmaker, redis, Publisher(settings, redis, sessionmaker))

    async def close(self) -> None:
        await self.publisher.close()
        await self.redis.aclose(close_connection_pool=True)
        await self.engine.dispose()
