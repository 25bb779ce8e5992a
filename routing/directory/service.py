"""Admin operations on the directory: agencies, categories' policy, disposition rules. Never
commits. Routing's caches (agencies by code, rules, categories) pick edits up within a minute."""

import functools
import uuid
from collections.abc import Iterable
from types import SimpleNamespace
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from routing.directory.codes import agency_id
from routing.directory.repository import DirectoryRepository
from routing.directory.schemas import (
    AgencyCreate,
    AgencyOut,
    AgencyUpdate,
    CategoryCreate,
    CategoryOut,
    CategoryUpdate,
    RuleCreate,
    RuleOut,
    RuleUpdate,
)
from services.domain.regions import timezone_of
from services.logging import get_logger
from services.models import Agency, AgencyKind, Category, DispositionRule, TargetLevel
from services.pagination import Page, decode_cursor, encode_cursor
from services.problems import ProblemError

log = get_logger(__name__)


@functools.cache
def _stemmer() -> Any:
    from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

    return StemmerFactory().create_stemmer()


def stemmed(words: Iterable[str]) -> list[str]:
    """Each word's stem (as the classifier compares them), once each, in the order given."""
    stemmer = _stemmer()
    out: list[str] = []
    for word in words:
        stem = str(stemmer.stem(word)) or word
        if stem not in out:
            out.append(stem)
    return out


def _invalid(pointer: str, code: str, detail: str | None = None) -> ProblemError:
    return ProblemError("validation_failed", detail, errors=[(pointer, code)])


class DirectoryService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repository = DirectoryRepository(session)

    # --- agencies --------------------------------------------------------------------------

    async def create_agency(self, body: AgencyCreate) -> AgencyOut:
        if await self.repository.agency_by_code(body.code) is not None:
            raise ProblemError("conflict", f"an agency with code {body.code} exists")
        if body.kind != AgencyKind.ministry and body.region_code is None:
            raise _invalid("/region_code", "missing", "a regional agency needs its region")
        if body.region_code is not None and not await self.repository.region_exists(
            body.region_code
        ):
            raise _invalid("/region_code", "unknown_region")
        if body.kind == AgencyKind.opd and body.office_type is None:
            raise _invalid("/office_type", "missing", "an office (opd) needs its office type")
        if body.parent_id is not None and await self.repository.agency(body.parent_id) is None:
            raise _invalid("/parent_id", "unknown_agency")
        zone = body.timezone or (timezone_of(body.region_code) if body.region_code else None)
        agency = Agency(
            id=agency_id(body.code),
            code=body.code,
            name=body.name,
            kind=body.kind,
            region_code=body.region_code,
            parent_id=body.parent_id,
            timezone=zone or "Asia/Jakarta",
            office_type=body.office_type,
            contacts=body.contacts.model_dump(exclude_none=True),
            active=True,
        )
        self.repository.add_agency(agency)
        await self.session.flush()
        log.info("agency %s created", agency.id)
        return AgencyOut.model_validate(agency)

    async def _agency(self, ident: uuid.UUID) -> Agency:
        agency = await self.repository.agency(ident)
        if agency is None:
            raise ProblemError("not_found", f"no agency {ident}")
        return agency

    async def update_agency(self, ident: uuid.UUID, body: AgencyUpdate) -> AgencyOut:
        agency = await self._agency(ident)
        sent = body.model_fields_set
        if "parent_id" in sent and body.parent_id is not None:
            if await self.repository.agency(body.parent_id) is None:
                raise _invalid("/parent_id", "unknown_agency")
            if agency.id in await self.repository.ancestors(body.parent_id):
                raise _invalid(
                    "/parent_id", "agency_cycle", "an agency cannot sit below itself or its office"
                )
        if "parent_id" in sent:
            agency.parent_id = body.parent_id
        if "office_type" in sent:
            if body.office_type is None and agency.kind == AgencyKind.opd:
                raise _invalid("/office_type", "missing", "an office (opd) needs its office type")
            agency.office_type = body.office_type
        for field in ("name", "timezone", "active"):
            value = getattr(body, field)
            if field in sent and value is None:
                raise _invalid(f"/{field}", "missing")
            if field in sent:
                setattr(agency, field, value)
        if "contacts" in sent:
            contacts = body.contacts
            agency.contacts = contacts.model_dump(exclude_none=True) if contacts else {}
        await self.session.flush()
        log.info("agency %s updated (%s)", agency.id, ", ".join(sorted(sent)))
        return AgencyOut.model_validate(agency)

    async def deactivate_agency(self, ident: uuid.UUID) -> AgencyOut:
        """No new complaints go to it; what it holds stays with it (and its clocks run on)."""
        agency = await self._agency(ident)
        agency.active = False
        await self.session.flush()
        log.info("agency %s deactivated", agency.id)
        return AgencyOut.model_validate(agency)

    # --- categories ------------------------------------------------------------------------

    async def list_categories(self) -> Page[CategoryOut]:
        rows = await self.repository.categories()
        return Page[CategoryOut](items=[CategoryOut.model_validate(c) for c in rows])

    async def _check_ministry(self, code: str | None) -> None:
        if code is None:
            return
        ministry = await self.repository.agency_by_code(code)
        if ministry is None or ministry.kind != AgencyKind.ministry:
            raise _invalid("/ministry_code", "unknown_agency", f"no ministry {code}")

    async def create_category(self, body: CategoryCreate) -> CategoryOut:
        if await self.repository.category(body.code) is not None:
            raise ProblemError("conflict", f"a category {body.code} exists")
        await self._check_ministry(body.ministry_code)
        category = Category(
            code=body.code,
            name_id=body.name_id,
            name_en=body.name_en,
            active=body.active,
            office_type=body.office_type,
            ministry_code=body.ministry_code,
            verification=body.verification,
            keywords=stemmed(body.keywords),
            completion_days=body.completion_days,
        )
        self.repository.add_category(category)
        await self.session.flush()
        log.info("category %s created", category.code)
        return CategoryOut.model_validate(category)

    async def update_category(self, code: str, body: CategoryUpdate) -> CategoryOut:
        category = await self.repository.category(code)
        if category is None:
            raise ProblemError("not_found", f"no category {code}")
        sent = body.model_fields_set
        if "ministry_code" in sent:
            await self._check_ministry(body.ministry_code)
        for field in ("name_id", "name_en", "verification", "keywords", "active"):
            if field in sent and getattr(body, field) is None:
                raise _invalid(f"/{field}", "missing")
        for field in sent:
            value = getattr(body, field)
            setattr(category, field, stemmed(value) if field == "keywords" else value)
        await self.session.flush()
        log.info("category %s updated (%s)", code, ", ".join(sorted(sent)))
        return CategoryOut.model_validate(category)

    # --- rules -----------------------------------------------------------------------------

    async def list_rules(
        self, *, category: str | None, cursor: str | None, limit: int
    ) -> Page[RuleOut]:
        after = None
        key = decode_cursor(cursor)
        if key is not None:
            try:
                code, priority, ident = key.split("|")
                after = (code, int(priority), str(uuid.UUID(ident)))
            except ValueError as exc:
                raise _invalid("/cursor", "invalid_cursor") from exc
        rows = await self.repository.rules(category=category, after=after, limit=limit + 1)
        items = [RuleOut.model_validate(r) for r in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = rows[limit - 1]
            next_cursor = encode_cursor(f"{last.category_code}|{last.priority}|{last.id}")
        return Page[RuleOut](items=items, next_cursor=next_cursor)

    async def _check_rule(self, values: dict[str, Any]) -> None:
        """A rule's fields taken together: what its level needs, and that what it names exists.
        Checked before the row changes (an autoflush must never write a half-checked rule)."""
        rule = SimpleNamespace(**values)
        category = await self.repository.category(rule.category_code)
        if category is None:
            raise _invalid("/category_code", "unknown_category")
        if rule.target_level == TargetLevel.opd and not rule.office_type:
            raise _invalid("/office_type", "missing", "a rule to an office names its type")
        if rule.target_level == TargetLevel.agency and rule.agency_id is None:
            raise _invalid("/agency_id", "missing", "a rule to an agency names it")
        if (
            rule.target_level == TargetLevel.ministry
            and rule.agency_id is None
            and not category.ministry_code
        ):
            raise _invalid("/agency_id", "missing", "the category names no ministry")
        if rule.agency_id is not None and await self.repository.agency(rule.agency_id) is None:
            raise _invalid("/agency_id", "unknown_agency")
        if rule.region_prefix is not None and not await self.repository.region_exists(
            rule.region_prefix
        ):
            raise _invalid("/region_prefix", "unknown_region")

    async def create_rule(self, body: RuleCreate) -> RuleOut:
        values = body.model_dump() | {"target_level": body.target_level.value}
        await self._check_rule(values)
        rule = DispositionRule(id=uuid.uuid4(), **values)
        self.repository.add_rule(rule)
        await self.session.flush()
        log.info("disposition rule %s created", rule.id)
        return RuleOut.model_validate(rule)

    async def _rule(self, ident: uuid.UUID) -> DispositionRule:
        rule = await self.repository.rule(ident)
        if rule is None:
            raise ProblemError("not_found", f"no disposition rule {ident}")
        return rule

    async def update_rule(self, ident: uuid.UUID, body: RuleUpdate) -> RuleOut:
        rule = await self._rule(ident)
        sent = body.model_fields_set
        for field in ("target_level", "priority", "active"):
            if field in sent and getattr(body, field) is None:
                raise _invalid(f"/{field}", "missing")
        values = {column: getattr(rule, column) for column in RuleCreate.model_fields}
        for field in sent:
            value = getattr(body, field)
            values[field] = value.value if isinstance(value, TargetLevel) else value
        await self._check_rule(values)
        for field in sent:
            setattr(rule, field, values[field])
        await self.session.flush()
        log.info("disposition rule %s updated (%s)", rule.id, ", ".join(sorted(sent)))
        return RuleOut.model_validate(rule)

    async def delete_rule(self, ident: uuid.UUID) -> None:
        rule = await self._rule(ident)
        await self.repository.delete_rule(rule)
        await self.session.flush()
        log.info("disposition rule %s deleted", ident)
