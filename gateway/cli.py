"""`aduan api-key create|list|revoke`: API keys from the command line, straight on the database
(for the first key of a new deployment, or when the API is down)."""

import argparse
import asyncio
import sys
import uuid
from typing import TextIO

from pydantic import ValidationError

from gateway.accounts.keys import ApiKeyService
from gateway.accounts.schemas import ApiKeyIn, ApiKeyRole
from gateway.accounts.uow import transaction
from services.cli import infrastructure
from services.db import SessionMaker, create_engine, create_sessionmaker
from services.problems import ProblemError
from services.settings import Settings, get_settings

CREATED_BY = "cli"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aduan api-key", description=__doc__)
    sub = parser.add_subparsers(dest="action", required=True)
    create = sub.add_parser("create", help="create a key and print it (shown this once)")
    create.add_argument("--name", required=True, help="who or what uses it")
    create.add_argument("--role", required=True, choices=[role.value for role in ApiKeyRole])
    create.add_argument("--agency", help="role agency: the agency's id or code (pemda-11.01)")
    create.add_argument(
        "--region",
        action="append",
        default=[],
        dest="regions",
        help="role regional_system: a region code it answers for (repeat for several)",
    )
    sub.add_parser("list", help="list keys (never their secrets)")
    revoke = sub.add_parser("revoke", help="revoke a key by id")
    revoke.add_argument("key_id", type=uuid.UUID)
    return parser


async def _create(service: ApiKeyService, args: argparse.Namespace, out: TextIO) -> int:
    agency_id = None
    if args.agency:
        agency = await service.agency_by_reference(args.agency)
        if agency is None:
            print(f"no agency {args.agency}", file=sys.stderr)
            return 1
        agency_id = agency.id
    try:
        body = ApiKeyIn(
            name=args.name, role=args.role, agency_id=agency_id, region_codes=args.regions
        )
    except ValidationError as exc:
        print(exc, file=sys.stderr)
        return 2
    created = await service.create(body, created_by=CREATED_BY)
    print(f"id:   {created.id}", file=out)
    print(f"role: {created.role}", file=out)
    print(f"key:  {created.key}", file=out)
    print("Keep the key now: it is not stored and cannot be shown again.", file=out)
    return 0


async def run(args: argparse.Namespace, sessionmaker: SessionMaker, out: TextIO) -> int:
    try:
        async with transaction(sessionmaker) as session:
            service = ApiKeyService(session)
            if args.action == "create":
                return await _create(service, args, out)
            if args.action == "list":
                for key in await service.all():
                    scope = (
                        str(key.agency_id) if key.agency_id else ",".join(key.region_codes) or "-"
                    )
                    state = f"revoked {key.revoked_at:%Y-%m-%d}" if key.revoked_at else "active"
                    used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
                    print(
                        f"{key.id}  adn_{key.prefix}_…  {key.role:<15}  {scope:<36}  {state:<18}"
                        f"  used {used}  {key.name}",
                        file=out,
                    )
                return 0
            await service.revoke(args.key_id)
            print(f"revoked {args.key_id}", file=out)
            return 0
    except ProblemError as exc:
        errors = ", ".join(f"{pointer}: {code}" for pointer, code in exc.field_errors)
        print(f"{exc.detail or exc.code}{' (' + errors + ')' if errors else ''}", file=sys.stderr)
        return 1


async def _run_on(database_url: str, args: argparse.Namespace) -> int:
    engine = create_engine(Settings(database_url=database_url), pool_size=1)
    try:
        return await run(args, create_sessionmaker(engine), sys.stdout)
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    with infrastructure(get_settings()) as (database_url, _):
        return asyncio.run(_run_on(database_url, args))
