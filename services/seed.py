"""Idempotent seeding of the reference data: regions, population, categories; then the agency
directory, which routing owns (`routing.directory.seed`, run by module name so that the kernel
imports no service, as `aduan api-key` hands over to the gateway)."""

import csv
import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.domain.regions import parent_code
from services.models import Category

DIRECTORY_SEED = "routing.directory.seed"

CATEGORIES: list[tuple[str, str, str]] = [
    ("infrastruktur", "Infrastruktur", "Infrastructure"),
    ("administrasi_kependudukan", "Administrasi Kependudukan", "Population administration"),
    ("kesehatan", "Kesehatan", "Health"),
    ("pendidikan", "Pendidikan", "Education"),
    ("bantuan_sosial", "Bantuan Sosial", "Social assistance"),
    ("lingkungan_hidup", "Lingkungan Hidup", "Environment"),
    ("ketertiban_umum", "Ketertiban Umum", "Public order"),
    ("korupsi_pungli", "Korupsi dan Pungutan Liar", "Corruption and illegal levies"),
    ("lainnya", "Lainnya", "Other"),
]


def _read_csv(name: str) -> Iterator[dict[str, str]]:
    with resources.files("services.data").joinpath(name).open(encoding="utf-8") as fh:
        yield from csv.DictReader(fh)


@dataclass
class SeedReport:
    regions: int
    categories: int
    agencies: int
    rules: int = 0


def region_rows() -> list[dict[str, Any]]:
    population = {row["kode"]: int(row["total"]) for row in _read_csv("penduduk.csv")}
    rows: list[dict[str, Any]] = [
        {
            "code": row["kode"],
            "name": row["nama"],
            "level": row["level"],
            "parent_code": parent_code(row["kode"]),
            "population": population.get(row["kode"]),
        }
        for row in _read_csv("wilayah.csv")
    ]
    # Parents before children, for the foreign key.
    rows.sort(key=lambda r: r["code"].count("."))
    return rows


async def _upsert(
    session: AsyncSession, model: Any, rows: list[dict[str, Any]], key: str, chunk: int = 5000
) -> None:
    for start in range(0, len(rows), chunk):
        batch = rows[start : start + chunk]
        stmt = insert(model).values(batch)
        updates = {c: stmt.excluded[c] for c in batch[0] if c not in {key, "id"}}
        await session.execute(stmt.on_conflict_do_update(index_elements=[key], set_=updates))


async def _upsert_regions(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    # One statement over arrays: ~90k rows in well under a second, where VALUES lists take ~15 s.
    await session.execute(
        text(
            """
            INSERT INTO regions (code, name, level, parent_code, population)
            SELECT * FROM unnest(
                CAST(:code AS varchar[]), CAST(:name AS varchar[]), CAST(:level AS varchar[]),
                CAST(:parent_code AS varchar[]), CAST(:population AS integer[])
            ) ORDER BY 1
            ON CONFLICT (code) DO UPDATE SET name = excluded.name, level = excluded.level,
                parent_code = excluded.parent_code, population = excluded.population
            """
        ),
        {column: [row[column] for row in rows] for column in rows[0]},
    )


async def seed_reference_data(session: AsyncSession) -> SeedReport:
    regions = region_rows()
    await _upsert_regions(session, regions)
    categories = [{"code": c, "name_id": i, "name_en": e} for c, i, e in CATEGORIES]
    # Names are the seed's; `active` and the policy (routing's seed fills it) are the admins'.
    await _upsert(session, Category, categories, "code")
    directory = await importlib.import_module(DIRECTORY_SEED).seed_directory(session)
    return SeedReport(len(regions), len(categories), directory.agencies, directory.rules)
