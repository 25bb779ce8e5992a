"""The directory's seed (run by `aduan seed` through services/seed.py): ministries, governments,
every government's offices, the categories' policy and the default disposition rules."""

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from routing.directory.codes import agency_id, office_code_for
from routing.directory.seed import CATEGORY_POLICY, MINISTRIES, OFFICES, rule_rows
from services.models import Agency, Category, DispositionRule
from services.seed import seed_reference_data

GOVERNMENTS = 38 + 514


async def by_code(session: AsyncSession, code: str) -> Agency:
    agency = await session.scalar(select(Agency).where(Agency.code == code))
    assert agency is not None, code
    return agency


async def test_every_government_has_the_offices_the_categories_need(
    session: AsyncSession,
) -> None:
    kinds = dict(
        (await session.execute(select(Agency.kind, func.count()).group_by(Agency.kind))).all()
    )
    assert kinds == {
        "ministry": len(MINISTRIES),
        "province": 38,
        "regency": 514,
        "opd": GOVERNMENTS * len(OFFICES),
    }
    needed = {p.office_type for p in CATEGORY_POLICY.values()}
    assert needed <= set(OFFICES)
    per_government = (
        await session.execute(
            select(Agency.parent_id, func.count())
            .where(Agency.kind == "opd")
            .group_by(Agency.parent_id)
        )
    ).all()
    assert len(per_government) == GOVERNMENTS
    assert {count for _, count in per_government} == {len(OFFICES)}


async def test_an_office_hangs_under_its_government_in_its_region(session: AsyncSession) -> None:
    office = await by_code(session, "pemda-11.01.dinas-pupr")
    government = await by_code(session, "pemda-11.01")

    assert office.parent_id == government.id
    assert office.id == agency_id("pemda-11.01.dinas-pupr")
    assert office.kind == "opd" and office.office_type == "dinas_pupr"
    assert office.region_code == "11.01"
    assert office.name == "Dinas Pekerjaan Umum dan Penataan Ruang Kabupaten Aceh Selatan"
    assert office.contacts == {} and office.active

    province_office = await by_code(session, "pemprov-11.inspektorat")
    assert province_office.parent_id == agency_id("pemprov-11")
    assert province_office.name == "Inspektorat Provinsi Aceh"
    assert office_code_for("11", "inspektorat") == "pemprov-11.inspektorat"
    assert office_code_for("11.01.01.2001", "dinas_pupr") == "pemda-11.01.dinas-pupr"


async def test_offices_keep_their_provinces_time_zone(session: AsyncSession) -> None:
    # Kota Jayapura (Papua, WIT), Kota Denpasar (Bali, WITA), Kota Bandung (Jawa Barat, WIB).
    for code, zone in [
        ("pemda-91.71.dinas-kesehatan", "Asia/Jayapura"),
        ("pemprov-91.satpol-pp", "Asia/Jayapura"),
        ("pemda-51.71.dinas-sosial", "Asia/Makassar"),
        ("pemda-32.73.dinas-dukcapil", "Asia/Jakarta"),
    ]:
        assert (await by_code(session, code)).timezone == zone, code
    zones = set(
        await session.scalars(
            select(Agency.timezone).where(Agency.code.like("pemda-91.%"), Agency.kind == "opd")
        )
    )
    assert zones == {"Asia/Jayapura"}


async def test_the_ministries_the_categories_point_to_exist(session: AsyncSession) -> None:
    for category in await session.scalars(select(Category)):
        if category.ministry_code:
            ministry = await by_code(session, category.ministry_code)
            assert ministry.kind == "ministry" and ministry.parent_id is None
    kemendagri = await by_code(session, "kemendagri")
    assert (await by_code(session, "pemprov-11")).parent_id == kemendagri.id


async def test_categories_carry_their_policy(session: AsyncSession) -> None:
    categories = {c.code: c for c in await session.scalars(select(Category))}

    assert categories["infrastruktur"].office_type == "dinas_pupr"
    assert categories["infrastruktur"].verification == "auto"
    assert "lubang" in categories["infrastruktur"].keywords
    assert categories["korupsi_pungli"].verification == "manual"
    assert categories["korupsi_pungli"].office_type == "inspektorat"
    assert categories["administrasi_kependudukan"].ministry_code == "kemendagri"
    assert categories["lainnya"].office_type is None and categories["lainnya"].keywords == []
    for code, policy in CATEGORY_POLICY.items():
        assert 10 <= len(categories[code].keywords) <= 20, code
        assert categories[code].keywords == list(policy.keywords)


def test_keywords_are_already_stemmed() -> None:
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    stemmer = StemmerFactory().create_stemmer()
    for code, policy in CATEGORY_POLICY.items():
        for word in policy.keywords:
            assert stemmer.stem(word) == word, (code, word)


async def test_default_rules_send_each_category_to_its_office_then_the_government(
    session: AsyncSession,
) -> None:
    rules = list(
        await session.scalars(
            select(DispositionRule).order_by(
                DispositionRule.category_code, DispositionRule.priority
            )
        )
    )
    by_category: dict[str, list[tuple[str, str | None, int]]] = {}
    for rule in rules:
        by_category.setdefault(rule.category_code, []).append(
            (rule.target_level, rule.office_type, rule.priority)
        )

    assert by_category["kesehatan"] == [("opd", "dinas_kesehatan", 100), ("regency", None, 200)]
    assert by_category["korupsi_pungli"][0] == ("opd", "inspektorat", 100)
    assert by_category["lainnya"] == [("regency", None, 100)]
    assert len(rules) == len(rule_rows())
    assert all(r.region_prefix is None and r.report_type is None and r.active for r in rules)


async def test_seeding_again_keeps_what_admins_changed(session: AsyncSession) -> None:
    office = await by_code(session, "pemda-11.01.dinas-pupr")
    office.contacts = {"email": "pengaduan@pupr.acehselatankab.go.id"}
    office.active = False
    office.name = "Nama yang salah"
    category = await session.get(Category, "infrastruktur")
    assert category is not None
    category.keywords = ["jalan"]
    rule = await session.scalar(
        select(DispositionRule).where(DispositionRule.category_code == "lainnya")
    )
    assert rule is not None
    rule.priority = 5
    rule_id = rule.id
    await session.flush()
    before = await session.scalar(select(func.count()).select_from(Agency))

    report = await seed_reference_data(session)
    session.expire_all()

    assert await session.scalar(select(func.count()).select_from(Agency)) == before
    assert report.agencies == before
    assert await session.scalar(select(func.count()).select_from(DispositionRule)) == report.rules
    office = await by_code(session, "pemda-11.01.dinas-pupr")
    assert office.contacts == {"email": "pengaduan@pupr.acehselatankab.go.id"}
    assert not office.active
    assert office.name.startswith("Dinas Pekerjaan Umum")  # the seed's field
    category = await session.get(Category, "infrastruktur")
    assert category is not None and category.keywords == ["jalan"]
    rule = await session.get(DispositionRule, rule_id)
    assert rule is not None and rule.priority == 5
