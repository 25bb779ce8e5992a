"""Acceptance 4 of issue 9, end to end: every real process, with the notifications worker's
SMTP settings pointing at a real aiosmtpd server on loopback. A complaint filed through the
gateway and dispositioned by routing tells its reporter (in Indonesian, with the tracking id)
and the staff of the agency whose inbox it lands in."""

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from services.db import create_engine, create_sessionmaker
from services.models import NotificationContact
from services.settings import Settings
from tests.conftest import complaint_payload
from tests.e2e.platform import Platform, isolated_settings
from tests.smtp import Mailbox, smtp_server, text_of

pytestmark = pytest.mark.e2e
OFFICE = "pemda-11.01.dinas-pupr"  # where the default rules send infrastructure in 11.01


@pytest.fixture(scope="module")
def mailbox() -> Iterator[Mailbox]:
    with smtp_server() as running:
        yield running


@pytest.fixture(scope="module")
def people_platform(
    settings: Settings,
    servers: tuple[str, str],
    mailbox: Mailbox,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Platform]:
    """A platform of its own (database, queues): its staff and emails are this test's only."""
    with isolated_settings(settings, servers[0], "people") as own:
        log_dir: Path = tmp_path_factory.mktemp("people-logs")
        smtp = {
            "ADUAN_SMTP_HOST": "127.0.0.1",
            "ADUAN_SMTP_PORT": str(mailbox.port),
            "ADUAN_SMTP_TLS": "none",
            "ADUAN_PEOPLE_POLL_SECONDS": "0.2",
        }
        running = Platform(own, log_dir, process_env={"notifications-worker": smtp})
        try:
            running.start()
            yield running
        finally:
            running.stop()


def admin(settings: Settings) -> dict[str, str]:
    assert settings.admin_api_key is not None
    return {"Authorization": f"Bearer {settings.admin_api_key.get_secret_value()}"}


async def known_to_notifications(settings: Settings, account_id: str) -> None:
    """Wait until the staff member's account event reached the contact directory."""
    engine = create_engine(settings)
    try:
        deadline = time.monotonic() + 30
        async with create_sessionmaker(engine)() as session:
            while time.monotonic() < deadline:
                found = await session.scalar(
                    select(NotificationContact.account_id).where(
                        NotificationContact.account_id == uuid.UUID(account_id)
                    )
                )
                if found is not None:
                    return
                await session.rollback()
                await asyncio.sleep(0.2)
        raise AssertionError("the staff member's account event never reached notifications")
    finally:
        await engine.dispose()


async def test_filing_and_disposition_email_the_reporter_and_the_agency_inbox(
    people_platform: Platform, mailbox: Mailbox
) -> None:
    settings = people_platform.settings
    async with httpx.AsyncClient(base_url=people_platform.gateway, timeout=10) as client:
        offices = await client.get(
            "/api/v1/agencies",
            params={"region_code": "11.01", "kind": "opd", "office_type": "dinas_pupr"},
        )
        [office] = [a for a in offices.json()["items"] if a["code"] == OFFICE]
        staff = await client.post(
            "/api/v1/staff",
            json={
                "name": "Rina Kartika",
                "email": "rina@pupr.acehselatankab.go.id",
                "phone": None,
                "password": "rahasia-sekali-123",
                "role": "liaison",
                "agency_id": office["id"],
            },
            headers=admin(settings),
        )
        assert staff.status_code == 201, staff.text
        await known_to_notifications(settings, staff.json()["id"])

        created = await client.post(
            "/api/v1/complaints",
            json=complaint_payload(
                reporter={"name": "Siti", "email": "siti.e2e@example.id", "phone": None}
            ),
        )
        assert created.status_code == 201, created.text
        tracking_id = created.json()["tracking_id"]

        [received, *_] = await mailbox.wait_for("siti.e2e@example.id", seconds=60)
        assert received["Subject"] == f"Aduan {tracking_id} telah diterima"
        assert f"Nomor pelacakan: {tracking_id}" in text_of(received)

        [inbox] = await mailbox.wait_for("rina@pupr.acehselatankab.go.id", seconds=60)
        assert inbox["Subject"] == f"Aduan baru {tracking_id} untuk {office['name']}"
        tracked = (await client.get(f"/api/v1/complaints/{tracking_id}")).json()
        assert [a["code"] for a in tracked["agencies"]] == [OFFICE]
        # The reporter heard of the disposition too, with the agency's name.
        told = await mailbox.wait_for("siti.e2e@example.id", count=2, seconds=60)
        assert any(office["name"] in str(m["Subject"]) for m in told)
