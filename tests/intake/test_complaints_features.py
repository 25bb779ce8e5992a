"""Issue 8's complaint features in-process, against the real database (rolled back per test):
create fields, tracking ids, the public listing and search, the timeline, duplicate hints and
regional systems' forwards. The same paths through the gateway: tests/e2e/test_intake_gateway.py.

Listings are filtered to Kota Kupang (53.71), where no other test files complaints."""

import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from intake import service as intake_service
from intake.main import create_app
from intake.schemas import ComplaintCreate
from intake.service import ComplaintService
from services.domain.tracking import ALPHABET, TrackingIds
from services.models import Complaint, Event
from services.principal import ANONYMOUS, Principal, PrincipalKind, Role
from services.privacy import hash_reporter_token
from services.runtime import Runtime
from services.settings import Settings
from tests.conftest import complaint_payload, service_client
from tests.factories import add_complaint, add_event, agency_id

KUPANG = "53.71"
REGIONAL = Principal(
    kind=PrincipalKind.api_key, role=Role.regional_system, subject="key-1", region_codes=("11",)
)
ADMIN = Principal(kind=PrincipalKind.user, role=Role.admin, subject="admin-1")


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    async with service_client(create_app(runtime.settings), runtime) as client:
        yield client


def caller(runtime: Runtime, principal: Principal) -> httpx.AsyncClient:
    return service_client(create_app(runtime.settings), runtime, principal)


async def count(session: AsyncSession, model: type[Complaint] | type[Event]) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def pointers(response: httpx.Response) -> set[str]:
    return {e["pointer"] for e in response.json()["errors"]}


# --- create fields ---------------------------------------------------------------------------


async def test_a_complaint_without_a_category_waits_for_routing_to_classify_it(
    client: httpx.AsyncClient,
) -> None:
    payload = complaint_payload()
    del payload["category"]

    response = await client.post("/api/v1/complaints", json=payload)

    assert response.status_code == 201, response.text
    assert response.json()["category"] == "lainnya"
    assert response.json()["channel"] == "web"


async def test_target_agency_coordinates_and_channel_are_kept(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    office = await agency_id(session, "pemda-11.01")
    response = await client.post(
        "/api/v1/complaints",
        json=complaint_payload(
            target_agency_id=str(office), latitude=3.26875, longitude=97.4639, channel="mobile"
        ),
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["latitude"], body["longitude"], body["channel"]) == (
        "3.268750",
        "97.463900",
        "mobile",
    )
    stored = await session.scalar(
        select(Complaint).where(Complaint.tracking_id == body["tracking_id"])
    )
    assert stored is not None and stored.target_agency_id == office


async def test_an_unknown_target_agency_and_half_a_coordinate_are_field_errors(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    before = await count(session, Complaint)
    response = await client.post(
        "/api/v1/complaints",
        json=complaint_payload(target_agency_id=str(uuid.uuid4()), latitude=-6.2),
        headers={"Accept-Language": "en"},
    )

    assert response.status_code == 422
    assert {(e["pointer"], e["code"]) for e in response.json()["errors"]} == {
        ("/target_agency_id", "unknown_agency"),
        ("/longitude", "coordinates_incomplete"),
    }
    assert await count(session, Complaint) == before


async def test_today_in_jakarta_is_not_the_future_but_tomorrow_is(
    client: httpx.AsyncClient,
) -> None:
    jakarta_today = datetime.now(UTC) + timedelta(hours=7)
    today = await client.post(
        "/api/v1/complaints", json=complaint_payload(occurred_on=jakarta_today.date().isoformat())
    )
    tomorrow = await client.post(
        "/api/v1/complaints",
        json=complaint_payload(occurred_on=(jakarta_today + timedelta(days=1)).date().isoformat()),
    )

    assert today.status_code == 201, today.text
    assert tomorrow.status_code == 422
    assert tomorrow.json()["errors"][0]["pointer"] == "/occurred_on"
    assert tomorrow.json()["errors"][0]["code"] == "date_in_future"


@pytest.mark.parametrize("channel", ["regional_system", "open311"])
async def test_a_citizen_may_not_claim_a_channel_the_platform_sets(
    client: httpx.AsyncClient, channel: str
) -> None:
    response = await client.post("/api/v1/complaints", json=complaint_payload(channel=channel))

    assert response.status_code == 422
    assert response.json()["errors"][0] == {
        "pointer": "/channel",
        "code": "channel_not_allowed",
        "message": "Kanal ini ditetapkan oleh platform, bukan oleh pengirim",
    }


# --- tracking ids ----------------------------------------------------------------------------


async def test_a_tracking_id_collision_draws_another_id_instead_of_failing(
    runtime: Runtime, session: AsyncSession, monkeypatch: pytest.MonkeyPatch
) -> None:
    seeded = TrackingIds(random.Random(2026))
    taken, free = seeded.new(), seeded.new()
    await add_complaint(session, tracking_id=taken)  # filed earlier with the same draw
    monkeypatch.setattr(intake_service, "TRACKING_IDS", TrackingIds(random.Random(2026)))

    async with caller(runtime, ANONYMOUS) as client:
        response = await client.post("/api/v1/complaints", json=complaint_payload())

    assert response.status_code == 201, response.text
    assert response.json()["tracking_id"] == free
    stored = await session.scalar(select(Complaint).where(Complaint.tracking_id == free))
    assert stored is not None
    events = await session.scalar(
        select(func.count()).select_from(Event).where(Event.complaint_id == stored.id)
    )
    assert events == 1


async def test_a_mistyped_tracking_id_is_a_404_that_says_so(client: httpx.AsyncClient) -> None:
    filed = (await client.post("/api/v1/complaints", json=complaint_payload())).json()
    tracking_id = filed["tracking_id"]
    wrong_check = next(c for c in ALPHABET if c != tracking_id[-1])
    swapped = tracking_id[:5] + tracking_id[6] + tracking_id[5] + tracking_id[7:]

    for typo in (tracking_id[:-1] + wrong_check, swapped):
        if typo == tracking_id:
            continue
        for path in (f"/api/v1/complaints/{typo}", f"/api/v1/complaints/{typo}/timeline"):
            response = await client.get(path)
            assert response.status_code == 404, path
            assert response.headers["content-type"] == "application/problem+json"
            assert "check character" in response.json()["detail"]
    # Typed loosely (lower case, a space): still found.
    loose = tracking_id.lower()[:8] + " " + tracking_id.lower()[8:]
    assert (await client.get(f"/api/v1/complaints/{loose}")).status_code == 200


async def test_complaints_filed_before_the_check_character_are_still_found(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    old = await add_complaint(session, tracking_id="ADN-7K3QX9P2")

    response = await client.get("/api/v1/complaints/adn-7k3qx9p2")
    timeline = await client.get("/api/v1/complaints/ADN-7K3QX9P2/timeline")

    assert response.status_code == 200
    assert response.json()["tracking_id"] == old.tracking_id
    assert timeline.status_code == 200


# --- the public listing ----------------------------------------------------------------------


async def kupang(session: AsyncSession, title: str, **fields: Any) -> Complaint:
    return await add_complaint(
        session, region_code=fields.pop("region_code", "53.71.01"), title=title, **fields
    )


async def listing(client: httpx.AsyncClient, **params: Any) -> dict[str, Any]:
    response = await client.get("/api/v1/complaints", params={"region": KUPANG, **params})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_listing_never_shows_confidential_complaints_or_who_reported(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    public = await kupang(session, "Jalan rusak di Alak", anonymous=True)
    await kupang(session, "Pungli di kantor kelurahan", confidential=True)

    page = await listing(client)

    assert [i["tracking_id"] for i in page["items"]] == [public.tracking_id]
    assert "Siti" not in str(page) and "siti@example.id" not in str(page)
    assert "reporter" not in page["items"][0]


async def test_the_listing_filters_by_region_prefix_category_type_status_and_date(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    now = datetime.now(UTC)
    alak = await kupang(session, "Sampah menumpuk di pasar", category="lingkungan_hidup")
    maulafa = await kupang(
        session, "Jalan rusak di Maulafa", region_code="53.71.02", status="in_progress"
    )
    aspirasi = await kupang(session, "Usul taman kota", report_type="aspirasi")
    old = await kupang(session, "Lampu mati", created_at=now - timedelta(days=40))

    def ids(page: dict[str, Any]) -> set[str]:
        return {i["tracking_id"] for i in page["items"]}

    assert ids(await listing(client)) == {
        alak.tracking_id,
        maulafa.tracking_id,
        aspirasi.tracking_id,
        old.tracking_id,
    }
    assert ids(await listing(client, region="53.71.02")) == {maulafa.tracking_id}
    assert ids(await listing(client, category="lingkungan_hidup")) == {alak.tracking_id}
    assert ids(await listing(client, report_type="aspirasi")) == {aspirasi.tracking_id}
    assert ids(await listing(client, status="in_progress")) == {maulafa.tracking_id}
    window = {
        "filed_from": (now - timedelta(days=45)).date().isoformat(),
        "filed_to": (now - timedelta(days=35)).date().isoformat(),
    }
    assert ids(await listing(client, **window)) == {old.tracking_id}


async def test_indonesian_search_finds_word_forms_and_ranks_the_closest_first(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    both = await kupang(
        session,
        "Jalan berlubang dekat pasar",
        description="Lubang besar di jalan membahayakan pengendara motor setiap malam.",
    )
    description_only = await kupang(
        session,
        "Keluhan pengendara di Alak",
        description="Ada beberapa lubang kecil di bahu jalan yang perlu ditambal segera.",
    )
    await kupang(session, "Sampah menumpuk", description="Sampah tidak diangkut dua minggu ini.")

    page = await listing(client, q="lubang")  # stems: berlubang and lubang are one word

    assert [i["tracking_id"] for i in page["items"]] == [
        both.tracking_id,
        description_only.tracking_id,
    ]
    assert page["items"][0]["rank"] > page["items"][1]["rank"] > 0


async def test_cursor_pages_are_stable_while_complaints_are_filed(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    filed = [await kupang(session, f"Jalan rusak nomor {n}") for n in range(5)]
    first = await listing(client, limit=2)
    await kupang(session, "Jalan rusak yang baru masuk")  # filed between two page reads
    rest: list[str] = []
    cursor = first["next_cursor"]
    while cursor:
        page = await listing(client, limit=2, cursor=cursor)
        rest += [i["tracking_id"] for i in page["items"]]
        cursor = page["next_cursor"]

    seen = [i["tracking_id"] for i in first["items"]] + rest
    assert seen == [c.tracking_id for c in reversed(filed)]


async def test_search_pages_follow_the_rank_without_repeats(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    for n in range(5):
        await kupang(
            session, f"Banjir di Alak {n}", description="Banjir " * (n + 1) + "menggenangi rumah."
        )
    seen: list[str] = []
    ranks: list[float] = []
    cursor = None
    while True:
        page = await listing(client, q="banjir", limit=2, **({"cursor": cursor} if cursor else {}))
        seen += [i["tracking_id"] for i in page["items"]]
        ranks += [i["rank"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break

    assert len(seen) == len(set(seen)) == 5
    assert ranks == sorted(ranks, reverse=True)


@pytest.mark.parametrize(
    ("params", "pointer"),
    [
        ({"cursor": "not a cursor"}, "/cursor"),
        ({"region": "11-01"}, "/region"),
        ({"status": "lost"}, "/status"),
        ({"limit": "0"}, "/limit"),
        ({"filed_from": "yesterday"}, "/filed_from"),
    ],
)
async def test_a_bad_filter_is_a_field_error(
    client: httpx.AsyncClient, params: dict[str, str], pointer: str
) -> None:
    response = await client.get("/api/v1/complaints", params=params)

    assert response.status_code == 422
    assert pointer in pointers(response)


# --- the timeline ----------------------------------------------------------------------------


async def test_the_timeline_labels_every_event_in_indonesian_and_english(
    client: httpx.AsyncClient,
) -> None:
    filed = (await client.post("/api/v1/complaints", json=complaint_payload())).json()

    response = await client.get(f"/api/v1/complaints/{filed['tracking_id']}/timeline")

    assert response.status_code == 200
    (event,) = response.json()["events"]
    assert event["type"] == "complaint.submitted"
    assert event["label"] == {"id": "Laporan diterima", "en": "Complaint received"}
    assert event["status_label"] == "Belum Terverifikasi"


async def test_reasons_on_a_confidential_timeline_are_for_its_reporter_only(
    runtime: Runtime, session: AsyncSession
) -> None:
    token = "rpt_reporter-of-the-confidential-one"
    complaint = await add_complaint(
        session,
        confidential=True,
        status="on_hold",
        reporter_token_hash=hash_reporter_token(token),
    )
    await add_event(
        session,
        "complaint.held",
        complaint=complaint,
        data={"status": "on_hold", "reason": "Menunggu keterangan saksi Budi"},
    )
    path = f"/api/v1/complaints/{complaint.tracking_id}/timeline"

    async with caller(runtime, ANONYMOUS) as stranger, caller(runtime, ADMIN) as admin:
        public = (await stranger.get(path)).json()
        full = (await admin.get(path)).json()
        reporter = (await stranger.get(path, headers={"X-Reporter-Token": token})).json()

    assert public["events"][0]["label"]["en"] == "Complaint put on hold"
    assert public["events"][0]["reason"] is None
    assert public["redacted"] == ["reason"]
    assert full["events"][0]["reason"] == "Menunggu keterangan saksi Budi"
    assert full["redacted"] == []
    assert reporter["events"][0]["reason"] == "Menunggu keterangan saksi Budi"


# --- possible duplicates ---------------------------------------------------------------------


async def test_the_create_answer_offers_open_similar_complaints_of_the_same_kabupaten(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    text = {
        "title": "Jalan berlubang di Maulafa",
        "description": "Jalan utama berlubang besar dan membahayakan pengendara motor.",
    }
    near = await kupang(session, region_code="53.71.01", status="in_progress", **text)
    # Not offered: another kabupaten, another category, closed, confidential, too old, unlike.
    await add_complaint(session, region_code="11.01.01", **text)
    await kupang(session, category="kesehatan", **text)
    await kupang(session, status="resolved", **text)
    await kupang(session, confidential=True, **text)
    await kupang(session, created_at=datetime.now(UTC) - timedelta(days=31), **text)
    await kupang(session, "Puskesmas tutup", description="Dokter tidak pernah datang ke sana.")

    response = await client.post(
        "/api/v1/complaints",
        json=complaint_payload(
            region_code="53.71.02",
            title="Lubang besar di jalan Maulafa",
            description="Ada jalan berlubang yang membahayakan motor di dekat pasar.",
        ),
    )

    assert response.status_code == 201, response.text
    assert response.json()["possible_duplicates"] == [
        {
            "tracking_id": near.tracking_id,
            "title": "Jalan berlubang di Maulafa",
            "status": "in_progress",
            "status_label": "Sedang Diproses",
        }
    ]


async def test_the_duplicate_hints_kabupaten_is_its_own_code_and_everything_in_it(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    text = {
        "title": "Jalan berlubang di Maulafa",
        "description": "Jalan utama berlubang besar dan membahayakan pengendara motor.",
    }
    at_regency = await kupang(session, region_code="53.71", **text)
    in_village = await kupang(session, region_code="53.71.01.1001", **text)
    # Elsewhere in the province: not the same kabupaten/kota.
    await kupang(session, region_code="53.01.04", **text)
    await kupang(session, region_code="53", **text)

    def filed_in(region_code: str) -> dict[str, Any]:
        return complaint_payload(
            region_code=region_code,
            title="Lubang besar di jalan Maulafa",
            description="Ada jalan berlubang yang membahayakan motor di dekat pasar.",
        )

    in_kota = await client.post("/api/v1/complaints", json=filed_in("53.71.02"))
    in_province = await client.post("/api/v1/complaints", json=filed_in("53"))

    assert in_kota.status_code == 201, in_kota.text
    assert {d["tracking_id"] for d in in_kota.json()["possible_duplicates"]} == {
        at_regency.tracking_id,
        in_village.tracking_id,
    }
    # Filed at province level: the whole province is its neighbourhood (at most the limit).
    assert in_province.status_code == 201, in_province.text
    assert len(in_province.json()["possible_duplicates"]) == 3


async def test_only_the_most_recent_open_complaints_sharing_a_word_are_ranked_for_the_hint(
    session: AsyncSession, settings: Settings
) -> None:
    """ADUAN_DUPLICATE_HINT_CANDIDATES bounds a create's cost: an older twin behind that many
    newer open complaints sharing a word is not offered."""
    now = datetime.now(UTC)
    twin = await kupang(
        session,
        "Jalan berlubang di Maulafa",
        description="Jalan utama berlubang besar dan membahayakan pengendara motor.",
        created_at=now - timedelta(days=3),
    )
    for days in (1, 2):
        await kupang(
            session,
            "Puskesmas tutup",
            description="Jalan ke puskesmas ditutup, dokter tidak datang.",
            created_at=now - timedelta(days=days),
        )
    payload = ComplaintCreate.model_validate(
        complaint_payload(
            region_code="53.71.02",
            title="Lubang besar di jalan Maulafa",
            description="Ada jalan berlubang yang membahayakan motor di dekat pasar.",
        )
    )

    async def offered(candidates: int) -> list[str]:
        service = ComplaintService(
            session, settings.model_copy(update={"duplicate_hint_candidates": candidates})
        )
        done = await service.submit(ANONYMOUS, payload, None)
        return [d["tracking_id"] for d in done.body["possible_duplicates"]]

    assert twin.tracking_id in await offered(3)
    assert twin.tracking_id not in await offered(2)


# --- regional systems ------------------------------------------------------------------------


async def test_a_regional_system_forwarding_the_same_external_ref_gets_the_first_complaint(
    runtime: Runtime, session: AsyncSession
) -> None:
    payload = complaint_payload(external_ref="SP4N-ACEHSEL-1", external_tracking_ref="LPR-1")
    async with caller(runtime, REGIONAL) as regional:
        first = await regional.post("/api/v1/complaints", json=payload)
        again = await regional.post("/api/v1/complaints", json=payload)

    assert first.status_code == 201, first.text
    assert again.status_code == 200, again.text
    assert first.json()["channel"] == "regional_system"
    assert first.json()["external_tracking_ref"] == "LPR-1"
    assert again.json()["reporter_token"] is None
    assert {**first.json(), "reporter_token": None, "possible_duplicates": []} == again.json()
    filed = await session.scalar(
        select(func.count())
        .select_from(Complaint)
        .where(Complaint.external_ref == "SP4N-ACEHSEL-1")
    )
    assert filed == 1


async def test_external_refs_are_unique_per_source_not_across_sources(
    runtime: Runtime,
) -> None:
    other = REGIONAL.model_copy(update={"subject": "key-2"})
    payload = complaint_payload(external_ref="LPR-000001")
    async with caller(runtime, REGIONAL) as one, caller(runtime, other) as two:
        answers = [await c.post("/api/v1/complaints", json=payload) for c in (one, two)]

    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json()["tracking_id"] != answers[1].json()["tracking_id"]


async def test_a_regional_system_files_only_in_its_regions(
    runtime: Runtime, session: AsyncSession
) -> None:
    before = await count(session, Complaint)
    async with caller(runtime, REGIONAL) as regional:
        response = await regional.post(
            "/api/v1/complaints",
            json=complaint_payload(region_code="32.01", external_ref="SP4N-X-1"),
        )

    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    assert await count(session, Complaint) == before


async def test_only_regional_systems_send_external_refs(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/complaints", json=complaint_payload(external_ref="mine", channel="sms")
    )

    assert response.status_code == 422
    assert pointers(response) == {"/external_ref"}


async def test_a_long_complaint_finds_its_short_twin_but_not_one_sharing_a_few_words(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    twin = await kupang(
        session,
        "Jalan berlubang di depan pasar",
        description="Lubang besar di jalan depan pasar membahayakan pengendara motor.",
    )
    await kupang(
        session,
        "Jalan di pasar macet",
        description="Pasar ramai, jalan macet setiap pagi karena parkir liar di depan pasar dan "
        "motor berhenti sembarangan di jalan.",
    )
    long_description = (
        "Jalan utama di depan pasar berlubang besar sejak dua bulan dan membahayakan "
        "pengendara motor. "
        + "Warga sudah melapor ke kelurahan namun belum ada tindakan dari dinas terkait, padahal "
        "setiap hujan lubang tergenang air dan tidak terlihat. Anak sekolah sering terjatuh. " * 3
    )

    response = await client.post(
        "/api/v1/complaints",
        json=complaint_payload(
            region_code="53.71.02", title="Jalan rusak berlubang", description=long_description
        ),
    )

    assert response.status_code == 201, response.text
    assert [d["tracking_id"] for d in response.json()["possible_duplicates"]] == [twin.tracking_id]
