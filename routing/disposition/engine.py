"""The disposition engine ("no wrong door"): which agency gets a complaint, and why.

Rules (`disposition_rules`) are `(report type?, category, region prefix?) → level or agency`.
The rules of the complaint's category that match (no report type or the complaint's; no region
prefix or one that covers the complaint's region, by whole code segments) are tried in order:
the most specific region prefix first (more segments), then a rule naming the report type before
one that does not, then the lowest `priority`. Each rule resolves to a concrete, active agency:

- `opd`: the office of `office_type` (the rule's, else the category's) under the government of the
  complaint's kabupaten/kota — or of its province when the complaint names only a province;
- `regency`: the kabupaten/kota government; `province`: the province government;
- `ministry`: the rule's agency, else the category's ministry (`categories.ministry_code`);
- `agency`: exactly the rule's agency.

A level whose office does not exist (or is inactive) falls back upward: office → kabupaten/kota →
province → the category's ministry → Kemendagri (the coordinating ministry). After the rules'
agencies come the defaults (the category's office, the kabupaten/kota, the province, the
ministry, Kemendagri), so there is always a next candidate. A reporter's target agency
(`complaints.target_agency_id`) comes first when it is active and its scope covers the region.
"""

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from routing.directory.codes import MINISTRY_CODE
from routing.disposition.repository import (
    AgencyRow,
    CategoryRow,
    DispositionRepository,
    RuleRow,
)
from services.domain.regions import covers, province_code, regency_code
from services.models import AgencyKind, Complaint, TargetLevel


@dataclass(frozen=True)
class Candidate:
    agency: AgencyRow
    rule: RuleRow | None
    # rule | target_agency (the reporter's or the verifier's choice) | default (no rule matched)
    chosen_by: str

    def as_data(self) -> dict[str, object]:
        rule = self.rule
        return {
            "agency": {
                "id": str(self.agency.id),
                "code": self.agency.code,
                "name": self.agency.name,
            },
            "chosen_by": self.chosen_by,
            "rule": None
            if rule is None
            else {
                "id": str(rule.id),
                "category": rule.category_code,
                "report_type": rule.report_type,
                "region_prefix": rule.region_prefix,
                "target_level": rule.target_level,
                "office_type": rule.office_type,
                "priority": rule.priority,
                "description": rule.description,
            },
        }


@dataclass(frozen=True)
class Decision:
    agency: AgencyRow
    rule: RuleRow | None
    chosen_by: str
    candidates: tuple[Candidate, ...] = field(default=())  # the chosen one first

    @property
    def reason(self) -> str:
        if self.chosen_by == "target_agency":
            return f"disposisi ke {self.agency.name} (instansi tujuan yang dipilih)"
        if self.rule is not None and self.rule.description:
            return f"disposisi ke {self.agency.name} menurut aturan: {self.rule.description}"
        return f"disposisi ke {self.agency.name}"


class NoAgency(LookupError):
    """Nothing to route to (the directory is not seeded, or every candidate was excluded)."""


def rule_matches(rule: RuleRow, report_type: str, region_code: str) -> bool:
    if rule.report_type is not None and rule.report_type != report_type:
        return False
    return rule.region_prefix is None or covers(rule.region_prefix, region_code)


def rule_order(rule: RuleRow) -> tuple[int, int, int, str]:
    segments = len(rule.region_prefix.split(".")) if rule.region_prefix else 0
    return (-segments, 0 if rule.report_type else 1, rule.priority, str(rule.id))


class DispositionEngine:
    def __init__(self, session: AsyncSession) -> None:
        self.repo = DispositionRepository(session)

    async def choose(
        self, complaint: Complaint, exclude_agency_ids: Collection[uuid.UUID] = ()
    ) -> Decision:
        """The agency a complaint goes to now, skipping `exclude_agency_ids` (an agency that
        returned it): the inbox's `return` asks for the next candidate this way."""
        if complaint.region_code is None:
            # An Open311 request without a region: verification holds it until an admin sets one.
            raise NoAgency(f"complaint {complaint.tracking_id} has no region yet")
        return await self.decide(
            report_type=complaint.report_type,
            category_code=complaint.category_code,
            region_code=complaint.region_code,
            target_agency_id=complaint.target_agency_id,
            exclude_agency_ids=exclude_agency_ids,
        )

    async def decide(
        self,
        *,
        report_type: str,
        category_code: str,
        region_code: str,
        target_agency_id: uuid.UUID | None = None,
        exclude_agency_ids: Collection[uuid.UUID] = (),
    ) -> Decision:
        candidates = await self.candidates(
            report_type=report_type,
            category_code=category_code,
            region_code=region_code,
            target_agency_id=target_agency_id,
            exclude_agency_ids=exclude_agency_ids,
        )
        if not candidates:
            raise NoAgency(f"no agency for {category_code} in {region_code}: run `aduan seed`")
        first = candidates[0]
        return Decision(first.agency, first.rule, first.chosen_by, tuple(candidates))

    async def target_in_scope(
        self, target_agency_id: uuid.UUID, region_code: str
    ) -> AgencyRow | None:
        """The agency, when it is active and its scope covers the region."""
        agency = await self.repo.agency(target_agency_id)
        if agency is None or not agency.active or not agency.covers(region_code):
            return None
        return agency

    async def candidates(
        self,
        *,
        report_type: str,
        category_code: str,
        region_code: str,
        target_agency_id: uuid.UUID | None = None,
        exclude_agency_ids: Collection[uuid.UUID] = (),
    ) -> list[Candidate]:
        """Every agency that could take the complaint, best first, each once."""
        category = (await self.repo.categories()).get(category_code)
        out: list[Candidate] = []
        seen = set(exclude_agency_ids)

        def add(agency: AgencyRow | None, rule: RuleRow | None, chosen_by: str) -> None:
            if agency is not None and agency.id not in seen:
                seen.add(agency.id)
                out.append(Candidate(agency, rule, chosen_by))

        if target_agency_id is not None:
            add(await self.target_in_scope(target_agency_id, region_code), None, "target_agency")
        rules = [
            r
            for r in await self.repo.rules(category_code)
            if rule_matches(r, report_type, region_code)
        ]
        for rule in sorted(rules, key=rule_order):
            add(await self._resolve(rule, category, region_code), rule, "rule")
        for agency in await self._defaults(category, region_code):
            add(agency, None, "default")
        return out

    async def _resolve(
        self, rule: RuleRow, category: CategoryRow | None, region_code: str
    ) -> AgencyRow | None:
        """The rule's agency for this region, falling back upward when it does not exist."""
        level = rule.target_level
        if level == TargetLevel.agency:
            agency = await self.repo.agency(rule.agency_id) if rule.agency_id else None
            return agency if agency is not None and agency.active else None
        if level == TargetLevel.ministry:
            if rule.agency_id is not None:
                agency = await self.repo.agency(rule.agency_id)
                if agency is not None and agency.active:
                    return agency
            return await self._first(await self._ministries(category))
        chain: list[AgencyRow | None] = []
        regency, province = await self._governments(region_code)
        if level == TargetLevel.opd:
            office_type = rule.office_type or (category.office_type if category else None)
            chain.append(await self._office(regency or province, office_type))
        if level in {TargetLevel.opd, TargetLevel.regency}:
            chain.append(regency)
        chain.append(province)
        chain += await self._ministries(category)
        return await self._first(chain)

    async def _defaults(self, category: CategoryRow | None, region_code: str) -> list[AgencyRow]:
        regency, province = await self._governments(region_code)
        office_type = category.office_type if category else None
        chain = [await self._office(regency or province, office_type), regency, province]
        chain += await self._ministries(category)
        return [a for a in chain if a is not None]

    async def _governments(self, region_code: str) -> tuple[AgencyRow | None, AgencyRow | None]:
        regency = regency_code(region_code)
        return (
            await self.repo.government(AgencyKind.regency, regency) if regency else None,
            await self.repo.government(AgencyKind.province, province_code(region_code)),
        )

    async def _office(
        self, government: AgencyRow | None, office_type: str | None
    ) -> AgencyRow | None:
        if government is None or not office_type:
            return None
        return await self.repo.office(government.id, office_type)

    async def _ministries(self, category: CategoryRow | None) -> list[AgencyRow | None]:
        """The category's ministry, then the coordinating ministry."""
        chain: list[AgencyRow | None] = []
        if category is not None and category.ministry_code:
            chain.append(await self.repo.agency_by_code(category.ministry_code))
        chain.append(await self.repo.agency_by_code(MINISTRY_CODE))
        return chain

    @staticmethod
    async def _first(chain: Sequence[AgencyRow | None]) -> AgencyRow | None:
        return next((a for a in chain if a is not None and a.active), None)
