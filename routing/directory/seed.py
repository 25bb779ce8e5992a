"""The directory's seed: ministries, regional governments, their offices (OPD), the starter
categories' policy and the default disposition rules. Idempotent; `aduan seed` runs it (by name,
from services/seed.py) after the regions and categories.

What a re-seed keeps: an agency's contacts and `active` (admins' to edit; the seed resets the
name, kind, region, parent, time zone and office type of the agencies it names); a category's
policy once anyone set it (the seed fills it only while it is empty); a default rule an admin
edited (rules are inserted, never updated, by their deterministic ids). A default rule an admin
DELETEd comes back with the next seed: to switch one off, PATCH it `active: false`.
"""

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from routing.directory.codes import (
    AGENCY_NAMESPACE,
    MINISTRY_CODE,
    agency_id,
    office_agency_code,
    province_agency_code,
    regency_agency_code,
)
from routing.directory.repository import DirectoryRepository
from services.domain.regions import timezone_of
from services.models import AgencyKind, RegionLevel, TargetLevel

# Ministries and national agencies (K/L) the starter categories point to. Kemendagri is the root
# of the regional hierarchy (the coordinating ministry, the top of escalation); the others stand
# alone (no parent).
MINISTRIES: dict[str, str] = {
    MINISTRY_CODE: "Kementerian Dalam Negeri",
    "kemenpu": "Kementerian Pekerjaan Umum",
    "kemenkes": "Kementerian Kesehatan",
    "kemendikdasmen": "Kementerian Pendidikan Dasar dan Menengah",
    "kemensos": "Kementerian Sosial",
    "klh": "Kementerian Lingkungan Hidup",
    "kpk": "Komisi Pemberantasan Korupsi",
}

# Office type → its name (followed by the government's region name), for every province and
# kabupaten/kota.
OFFICES: dict[str, str] = {
    "dinas_pupr": "Dinas Pekerjaan Umum dan Penataan Ruang",
    "dinas_kesehatan": "Dinas Kesehatan",
    "dinas_pendidikan": "Dinas Pendidikan",
    "dinas_dukcapil": "Dinas Kependudukan dan Pencatatan Sipil",
    "dinas_sosial": "Dinas Sosial",
    "dinas_lingkungan_hidup": "Dinas Lingkungan Hidup",
    "satpol_pp": "Satuan Polisi Pamong Praja",
    "inspektorat": "Inspektorat",
}


@dataclass(frozen=True)
class CategoryPolicy:
    office_type: str | None
    ministry_code: str | None
    verification: str  # "auto" | "manual"
    # Stemmed (PySastrawi) Indonesian words that classify an uncategorised complaint here.
    keywords: tuple[str, ...]


# `lainnya` keeps the columns' defaults (no office, no ministry, automatic, no keywords): it goes
# to the kabupaten/kota government by its rule. Corruption and illegal levies are always verified
# by hand: they name people.
CATEGORY_POLICY: dict[str, CategoryPolicy] = {
    "infrastruktur": CategoryPolicy(
        "dinas_pupr",
        "kemenpu",
        "auto",
        (
            "jalan", "lubang", "jembatan", "rusak", "aspal", "drainase", "gorong", "salur",
            "lampu", "terang", "trotoar", "irigasi", "longsor", "bendung", "terminal",
        ),
    ),
    "administrasi_kependudukan": CategoryPolicy(
        "dinas_dukcapil",
        MINISTRY_CODE,  # Ditjen Dukcapil is part of Kemendagri
        "auto",
        (
            "ktp", "kk", "akta", "lahir", "mati", "duduk", "catat", "sipil", "dukcapil",
            "pindah", "domisili", "nik", "blangko", "rekam", "identitas",
        ),
    ),
    "kesehatan": CategoryPolicy(
        "dinas_kesehatan",
        "kemenkes",
        "auto",
        (
            "puskesmas", "sakit", "dokter", "bidan", "obat", "pasien", "bpjs", "sehat",
            "imunisasi", "gizi", "stunting", "awat", "ambulans", "rujuk", "posyandu",
        ),
    ),
    "pendidikan": CategoryPolicy(
        "dinas_pendidikan",
        "kemendikdasmen",
        "auto",
        (
            "sekolah", "guru", "murid", "siswa", "didik", "ppdb", "zonasi", "ijazah",
            "beasiswa", "kurikulum", "honorer", "kelas", "seragam", "spp",
        ),
    ),
    "bantuan_sosial": CategoryPolicy(
        "dinas_sosial",
        "kemensos",
        "auto",
        (
            "bansos", "bantu", "sosial", "pkh", "sembako", "blt", "miskin", "dtks", "kip",
            "pangan", "disabilitas", "lansia",
        ),
    ),
    "lingkungan_hidup": CategoryPolicy(
        "dinas_lingkungan_hidup",
        "klh",
        "auto",
        (
            "sampah", "limbah", "cemar", "polusi", "banjir", "sungai", "asap", "bakar",
            "hutan", "bau", "tebang", "tambang", "tpa",
        ),
    ),
    "ketertiban_umum": CategoryPolicy(
        "satpol_pp",
        MINISTRY_CODE,  # Satpol PP answers to Kemendagri
        "auto",
        (
            "dagang", "pkl", "parkir", "ribut", "mabuk", "miras", "bising", "judi", "preman",
            "tertib", "gelandang", "balap", "satpol",
        ),
    ),
    "korupsi_pungli": CategoryPolicy(
        "inspektorat",
        "kpk",
        "manual",
        (
            "korupsi", "pungut", "pungli", "suap", "gratifikasi", "sogok", "penyalahgunaan",
            "wewenang", "anggar", "calo", "licin", "peras",
        ),
    ),
}  # fmt: skip


def rule_id(key: str) -> uuid.UUID:
    """A default rule's deterministic id (`rule:<category>:<level>`)."""
    return uuid.uuid5(AGENCY_NAMESPACE, f"rule:{key}")


def rule_rows() -> list[dict[str, Any]]:
    """For each category with an office: its office at the complaint's kabupaten/kota (priority
    100; a province-level complaint: the province's office), then the kabupaten/kota government
    (200) as the next candidate. `lainnya`: the kabupaten/kota government (100)."""
    rows: list[dict[str, Any]] = []
    for category, policy in CATEGORY_POLICY.items():
        if policy.office_type:
            rows.append(
                _rule(
                    category,
                    TargetLevel.opd,
                    100,
                    policy.office_type,
                    f"{OFFICES[policy.office_type]} setempat",
                )
            )
        rows.append(_rule(category, TargetLevel.regency, 200, None, "pemerintah kabupaten/kota"))
    rows.append(_rule("lainnya", TargetLevel.regency, 100, None, "pemerintah kabupaten/kota"))
    return rows


def _rule(
    category: str, level: TargetLevel, priority: int, office_type: str | None, description: str
) -> dict[str, Any]:
    return {
        "id": rule_id(f"{category}:{level.value}"),
        "category_code": category,
        "report_type": None,
        "region_prefix": None,
        "target_level": level.value,
        "office_type": office_type,
        "agency_id": None,
        "priority": priority,
        "active": True,
        "description": f"bawaan: {description}",
    }


def _agency(
    code: str,
    name: str,
    kind: AgencyKind,
    region: str | None,
    parent: str | None,
    office_type: str | None = None,
) -> dict[str, Any]:
    return {
        "id": agency_id(code),
        "code": code,
        "name": name,
        "kind": kind.value,
        "region_code": region,
        "parent_id": agency_id(parent) if parent else None,
        "timezone": timezone_of(region) if region else "Asia/Jakarta",
        "office_type": office_type,
    }


def agency_rows(governments: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    """Every agency of the seed, parents before children, from (code, name, level) of every
    province and kabupaten/kota."""
    rows = [
        _agency(code, name, AgencyKind.ministry, None, None) for code, name in MINISTRIES.items()
    ]
    offices = []
    for code, name, level in sorted(governments, key=lambda g: g[0].count(".")):
        if level == RegionLevel.province:
            government = province_agency_code(code)
            rows.append(
                _agency(
                    government,
                    f"Pemerintah Provinsi {name}",
                    AgencyKind.province,
                    code,
                    MINISTRY_CODE,
                )
            )
            where = f"Provinsi {name}"
        else:
            government = regency_agency_code(code)
            province = province_agency_code(code.split(".")[0])
            rows.append(
                _agency(government, f"Pemerintah {name}", AgencyKind.regency, code, province)
            )
            where = name
        offices += [
            _agency(
                office_agency_code(government, office_type),
                f"{office_name} {where}",
                AgencyKind.opd,
                code,
                government,
                office_type,
            )
            for office_type, office_name in OFFICES.items()
        ]
    return rows + offices


@dataclass
class DirectoryReport:
    agencies: int
    rules: int


async def seed_directory(session: AsyncSession) -> DirectoryReport:
    """Agencies (one statement), the categories' policy where still empty, the default rules.
    The regions and categories must be seeded first."""
    repository = DirectoryRepository(session)
    agencies = agency_rows(await repository.governments())
    await repository.upsert_seed_agencies(agencies)
    for category, policy in CATEGORY_POLICY.items():
        await repository.fill_category_policy(
            category,
            office_type=policy.office_type,
            ministry_code=policy.ministry_code,
            verification=policy.verification,
            keywords=list(policy.keywords),
        )
    rules = rule_rows()
    await repository.insert_seed_rules(rules)
    return DirectoryReport(agencies=len(agencies), rules=len(rules))
