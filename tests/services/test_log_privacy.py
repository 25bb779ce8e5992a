"""Personal data never reaches the logs through a failed SQL statement: neither its bound
parameters nor PostgreSQL's DETAIL line (which quotes the duplicate key's value)."""

import io
import logging

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from services.db import create_engine
from services.logging import JsonFormatter
from services.settings import Settings

EMAIL = "siti.pelapor@example.id"


async def test_a_failed_statement_logs_neither_its_parameters_nor_the_key_value(
    settings: Settings,
) -> None:
    output = io.StringIO()
    handler = logging.StreamHandler(output)
    handler.setFormatter(JsonFormatter())  # what every process writes its lines with
    logger = logging.getLogger("aduan.test.sql")
    logger.addHandler(handler)
    engine = create_engine(settings, pool_size=1)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("CREATE TEMP TABLE reporters (email text UNIQUE)"))
            await conn.execute(text("INSERT INTO reporters VALUES (:email)"), {"email": EMAIL})
            with pytest.raises(IntegrityError) as failure:
                await conn.execute(text("INSERT INTO reporters VALUES (:email)"), {"email": EMAIL})
            # What the edges do with an unexpected error: log it with its traceback.
            logger.error("statement failed", exc_info=failure.value)
    finally:
        logger.removeHandler(handler)
        await engine.dispose()

    assert "duplicate key" in output.getvalue()  # the failure itself is there to debug
    assert EMAIL not in output.getvalue()
    assert EMAIL not in str(failure.value)
