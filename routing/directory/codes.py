"""The agency-code naming rules, and the deterministic ids that follow from them.

- `kemendagri`, `kemenkes`, `kpk`, …: a ministry or national agency (K/L), its usual short name.
- `pemprov-<province code>` (`pemprov-11`): a province government.
- `pemda-<kabupaten/kota code>` (`pemda-11.01`): a kabupaten/kota government.
- `<government code>.<office type with "-">` (`pemda-11.01.dinas-pupr`, `pemprov-91.inspektorat`):
  an office (OPD) of that government; its `office_type` (`dinas_pupr`) is what categories and
  disposition rules name.

An agency's id is the uuid5 of its code, so every environment seeded from the same data has the
same ids, and an agency an admin creates gets the id its code names too.
"""

import re
import uuid

from services.domain.regions import province_code, regency_code

AGENCY_NAMESPACE = uuid.UUID("5b0f4c1e-3f7a-4a53-9b1e-6d0c2a1f9e10")
MINISTRY_CODE = "kemendagri"  # the coordinating ministry: the top of the escalation chain

# Lower-case letters, digits and "-", in "."-separated parts: what the rules above produce.
AGENCY_CODE_PATTERN = r"^[a-z][a-z0-9-]*(\.[a-z0-9][a-z0-9-]*)*$"
OFFICE_TYPE_PATTERN = r"^[a-z][a-z0-9_]*$"
_AGENCY_CODE = re.compile(AGENCY_CODE_PATTERN)


def agency_id(code: str) -> uuid.UUID:
    """Deterministic, so every environment seeds the same ids."""
    return uuid.uuid5(AGENCY_NAMESPACE, code)


def province_agency_code(region: str) -> str:
    return f"pemprov-{region}"


def regency_agency_code(region: str) -> str:
    return f"pemda-{region}"


def office_agency_code(government_code: str, office_type: str) -> str:
    """`pemda-11.01` + `dinas_pupr` → `pemda-11.01.dinas-pupr`."""
    return f"{government_code}.{office_type.replace('_', '-')}"


def government_code_for(region: str) -> str:
    """The government answering for a complaint's region: its kabupaten/kota, or its province
    when the region is a province code."""
    regency = regency_code(region)
    return regency_agency_code(regency) if regency else province_agency_code(province_code(region))


def office_code_for(region: str, office_type: str) -> str:
    """The office of `office_type` answering for a region (of its kabupaten/kota, or of its
    province for a province-level region)."""
    return office_agency_code(government_code_for(region), office_type)


def valid_agency_code(code: str) -> bool:
    return len(code) <= 64 and _AGENCY_CODE.fullmatch(code) is not None
