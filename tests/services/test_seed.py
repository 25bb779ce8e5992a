"""Reference data seeded by `alembic upgrade head` + seed (the session database)."""

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.models import Agency, Category, Region
from services.seed import seed_reference_data


async def count(session: AsyncSession, model: type[Region] | type[Agency] | type[Category]) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_region_counts_match_the_kepmendagri(session: AsyncSession) -> None:
    levels = dict(
        (await session.execute(select(Region.level, func.count()).group_by(Region.level))).all()
    )
    assert levels == {
        "provinsi": 38,
        "kabupaten_kota": 514,
        "kecamatan": 7285,
        "desa_kelurahan": 83762,
    }
    village = await session.get(Region, "11.01.01.2001")
    assert village is not None and village.name == "Keude Bakongan"
    assert village.parent_code == "11.01.01"


async def test_population_is_attached(session: AsyncSession) -> None:
    aceh = await session.get(Region, "11")
    regency = await session.get(Region, "11.01")
    assert aceh is not None and aceh.population == 5_623_479
    assert regency is not None and regency.population == 239_629


async def test_agencies_form_the_hierarchy(session: AsyncSession) -> None:
    # Seven ministries, the governments, and eight offices per government (routing's seed).
    assert await count(session, Agency) == 7 + (38 + 514) * 9
    regency = await session.scalar(select(Agency).where(Agency.code == "pemda-91.71"))
    assert regency is not None and regency.timezone == "Asia/Jayapura"
    province = await session.get(Agency, regency.parent_id)
    assert province is not None and province.code == "pemprov-91"
    ministry = await session.get(Agency, province.parent_id)
    assert ministry is not None and ministry.name == "Kementerian Dalam Negeri"


async def test_seeding_again_changes_nothing(session: AsyncSession) -> None:
    before = [await count(session, m) for m in (Region, Agency, Category)]
    report = await seed_reference_data(session)
    after = [await count(session, m) for m in (Region, Agency, Category)]
    assert before == after == [report.regions, report.agencies, report.categories]
