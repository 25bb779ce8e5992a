from collections.abc import Iterator
from pathlib import Path

import pytest

from services.settings import Settings
from tests.e2e.platform import Platform


@pytest.fixture(scope="session")
def platform(settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    log_dir: Path = tmp_path_factory.mktemp("platform-logs")
    running = Platform(settings, log_dir)
    try:
        running.start()
        yield running
    finally:
        running.stop()
