"""`POST /api/v1/routing/dry-run`: which agency a complaint would go to, and why."""

from typing import Annotated

from fastapi import APIRouter, Depends

from routing.disposition.engine import Candidate, DispositionEngine, NoAgency
from routing.disposition.repository import AgencyRow, RuleRow
from routing.disposition.schemas import (
    AgencyBrief,
    CandidateOut,
    DryRunIn,
    DryRunOut,
    RuleBrief,
)
from services.deps import SessionDep
from services.policy import Permission, Requires
from services.problems import PROBLEM_RESPONSES, Problem, ProblemError

router = APIRouter(prefix="/api/v1/routing", tags=["routing"])


async def get_engine(session: SessionDep) -> DispositionEngine:
    return DispositionEngine(session)


EngineDep = Annotated[DispositionEngine, Depends(get_engine)]


@router.post(
    "/dry-run",
    response_model=DryRunOut,
    summary="Try the disposition rules",
    description="Which agency a complaint of this report type, category and region (and "
    "target agency, if the reporter named one) would be dispositioned to, the rule that chose "
    "it, and every other candidate in order — nothing is written. Rules: the most specific "
    "region prefix first, then the report type, then priority; each resolves to an office, a "
    "government or a ministry and falls back upward when that agency does not exist. National "
    "admins, agency coordinators and ops (rules and the directory hold no personal data).",
    dependencies=[Requires(Permission.disposition_preview)],
    responses={
        **PROBLEM_RESPONSES,
        403: {"model": Problem, "description": "Not an admin, a coordinator or ops"},
    },
)
async def dry_run(body: DryRunIn, engine: EngineDep) -> DryRunOut:
    categories = await engine.repo.categories()
    if body.category not in categories:
        raise ProblemError("validation_failed", errors=[("/category", "unknown_category")])
    if not await engine.repo.region_exists(body.region_code):
        raise ProblemError("validation_failed", errors=[("/region_code", "unknown_region")])
    try:
        decision = await engine.decide(
            report_type=body.report_type,
            category_code=body.category,
            region_code=body.region_code,
            target_agency_id=body.target_agency_id,
        )
    except NoAgency as exc:  # the directory is not seeded
        raise ProblemError("service_unavailable", str(exc)) from exc
    return DryRunOut(
        agency=_agency(decision.agency),
        rule=_rule(decision.rule),
        chosen_by=decision.chosen_by,
        candidates=[_candidate(c) for c in decision.candidates],
    )


def _agency(a: AgencyRow) -> AgencyBrief:
    return AgencyBrief(id=a.id, code=a.code, name=a.name, kind=a.kind)


def _rule(r: RuleRow | None) -> RuleBrief | None:
    if r is None:
        return None
    return RuleBrief(
        id=r.id,
        category=r.category_code,
        report_type=r.report_type,
        region_prefix=r.region_prefix,
        target_level=r.target_level,
        office_type=r.office_type,
        agency_id=r.agency_id,
        priority=r.priority,
        description=r.description,
    )


def _candidate(c: Candidate) -> CandidateOut:
    return CandidateOut(agency=_agency(c.agency), rule=_rule(c.rule), chosen_by=c.chosen_by)
