"""The statistics' tests on a database of their own.

The statistics read every complaint and event after a watermark; in the session's database the
end-to-end platforms' routing workers have moved that watermark past these tests' data (dated
in 2025) and filed complaints of their own in the same regions. A fresh database keeps the
hand-computed figures exact."""

from collections.abc import AsyncIterator, Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from services.settings import Settings
from tests.databases import scratch_database


@pytest.fixture(scope="package")
def stats_database_url(database_url: str) -> Iterator[str]:
    with scratch_database(database_url, "aduan_stats") as url:
        yield url


@pytest.fixture(scope="package")
def settings(settings: Settings, stats_database_url: str) -> Settings:
    return settings.model_copy(update={"database_url": stats_database_url})


@pytest.fixture(scope="package")
async def engine(settings: Settings) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(settings.require_database_url())
    yield engine
    await engine.dispose()
