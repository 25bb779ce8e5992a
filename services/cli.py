"""`aduan` command line: migrate, seed, seed-demo, run (the whole platform), serve / worker (one
process)."""

import argparse
import asyncio
import contextlib
import importlib
import json
import os
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from services.settings import Settings, get_settings

SERVICES = ("gateway", "intake", "routing", "notifications")
WORKERS = ("routing", "notifications")
SIGNING_KEY_ENV = "ADUAN_INTERNAL_SIGNING_KEY"
DEMO_SEED = "routing.demo.seed"  # routing lives the demo complaints; imported by name


def project_root() -> Path:
    """Where migrations/ and the Procfile are: the working directory of an installed package
    (the Docker image), else the checkout this module lives in (an editable install)."""
    for candidate in (Path.cwd(), Path(__file__).resolve().parent.parent):
        if (candidate / "migrations" / "env.py").is_file():
            return candidate
    raise RuntimeError("no migrations/ folder here or beside the package: run from the project")


def alembic_upgrade(database_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    root = project_root()
    config = Config(str(root / "alembic.ini"))
    config.set_main_option("script_location", str(root / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    command.upgrade(config, "head")


async def _seed(database_url: str) -> None:
    from services.db import create_engine, create_sessionmaker
    from services.seed import seed_reference_data

    engine = create_engine(Settings(database_url=database_url))
    try:
        async with create_sessionmaker(engine)() as session:
            report = await seed_reference_data(session)
            await session.commit()
    finally:
        await engine.dispose()
    print(
        f"seeded {report.regions} regions, {report.categories} categories, "
        f"{report.agencies} agencies, {report.rules} default disposition rules"
    )


async def _seed_demo(
    database_url: str,
    complaints: int,
    *,
    add: bool = False,
    seed: int = 10,
    chunk: int = 5000,
    workers: int | None = None,
) -> int:
    """Demo complaints in chunks of `chunk`, one transaction each (see routing/demo/seed.py),
    lived in `workers` processes (default: one per CPU from 5,000 complaints). Refuses a
    database that already holds complaints unless `add`; returns how many it wrote."""
    import multiprocessing
    import time
    from concurrent.futures import ProcessPoolExecutor

    from services.db import create_engine, create_sessionmaker

    demo = importlib.import_module(DEMO_SEED)
    settings = Settings(database_url=database_url)
    engine = create_engine(settings)
    started = time.monotonic()
    total = demo.DemoReport()
    # Starting the processes costs seconds: worth it only for a large set.
    workers = workers or ((os.cpu_count() or 1) if complaints >= 5000 else 1)
    pool = (
        ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"))
        if workers > 1
        else None
    )
    try:
        sessions = create_sessionmaker(engine)
        async with sessions() as session:
            world = await demo.prepare(session, settings, seed=seed, add=add)
        # A pipeline: the parent plans the next chunk and COPYs the last one while the
        # worker processes live the current one.
        living = None
        while living is not None or world.written < complaints:
            upcoming = None
            if world.written < complaints:
                async with sessions() as session:
                    tasks = await demo.plan(
                        session, world, min(chunk, complaints - world.written), workers
                    )
                upcoming = demo.live(tasks, pool)
            if living is not None:
                parts = await living
                async with sessions() as session:
                    part = await demo.write(session, world, parts)
                    await session.commit()
                demo.merge(total, part)
                rate = total.complaints / max(time.monotonic() - started, 1e-6)
                print(
                    f"seed-demo: {total.complaints}/{complaints} complaints ({rate:.0f}/s)",
                    flush=True,
                )
            living = upcoming
        # The statistics' weekly rollups of the cells written, current before the seed ends.
        async with sessions() as session:
            await demo.finish(session, world)
            await session.commit()
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        await engine.dispose()
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(total.by_status.items()))
    print(
        f"seeded {total.complaints} demo complaints, {total.events} events, "
        f"{total.clocks} clocks in {time.monotonic() - started:.1f} s ({statuses})"
    )
    return int(total.complaints)


@contextlib.contextmanager
def infrastructure(settings: Settings) -> Iterator[tuple[str, str]]:
    """The database and Redis URLs: the configured ones, or embedded servers under var_dir."""
    from services.embedded import EmbeddedPostgres, EmbeddedRedis

    postgres = redis = None
    try:
        database_url = settings.database_url
        if not database_url:
            postgres = EmbeddedPostgres(settings.var_dir / "pg")
            database_url = postgres.start()
        redis_url = settings.redis_url
        if not redis_url:
            redis = EmbeddedRedis(settings.var_dir / "redis")
            redis_url = redis.start()
        yield database_url, redis_url
    finally:
        if redis is not None:
            redis.stop()
        if postgres is not None:
            postgres.stop()


def cmd_migrate(settings: Settings) -> None:
    with infrastructure(settings) as (database_url, _):
        alembic_upgrade(database_url)


def cmd_seed(settings: Settings) -> None:
    with infrastructure(settings) as (database_url, _):
        asyncio.run(_seed(database_url))


def identity_keys(settings: Settings) -> tuple[str, str]:
    """(the gateway's private key, the verify keys every process gets): the configured ones, or
    a pair for this run only (production configures its own: `aduan identity-keys`)."""
    from services.identity import generate_keypair, public_key_of

    if settings.internal_signing_key is None:
        if settings.internal_verify_keys:
            raise SystemExit(
                "ADUAN_INTERNAL_VERIFY_KEYS is set but ADUAN_INTERNAL_SIGNING_KEY is not: "
                "the gateway needs the private key of one of them"
            )
        return generate_keypair()
    signing_key = settings.internal_signing_key.get_secret_value()
    return signing_key, settings.internal_verify_keys or public_key_of(signing_key)


def write_procfile(
    procfile: Path, directory: Path, signing_key: str, gateway_only: dict[str, str] | None = None
) -> str:
    """A Procfile for honcho in which each process holds only the keys it may: the gateway reads
    the private key (and `gateway_only`'s variables, such as a generated access-token key) from a
    file in `directory` (so it is in the gateway's environment alone, not honcho's nor the
    others'); every other process gets the private key blank, which also overrides a key set in
    `.env`. Returns the Procfile's path."""
    key_file = directory / "gateway.env"
    key_file.touch(mode=0o600)
    variables = {SIGNING_KEY_ENV: signing_key, **(gateway_only or {})}
    key_file.write_text("".join(f"{k}={shlex.quote(v)}\n" for k, v in variables.items()))
    lines = []
    for line in procfile.read_text().splitlines():
        name, sep, command = line.partition(": ")
        if not sep or line.startswith("#"):
            lines.append(line)
        elif name == "gateway":
            source = shlex.quote(str(key_file))
            lines.append(f"{name}: set -a; . {source}; set +a; exec {command}")
        else:
            lines.append(f"{name}: {SIGNING_KEY_ENV}= exec {command}")
    path = directory / "Procfile"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def cmd_seed_demo(settings: Settings, args: argparse.Namespace) -> int:
    with infrastructure(settings) as (database_url, _):
        try:
            asyncio.run(
                _seed_demo(
                    database_url,
                    args.complaints,
                    add=args.add,
                    seed=args.seed,
                    chunk=args.chunk,
                    workers=args.workers,
                )
            )
        except importlib.import_module(DEMO_SEED).DemoRefused as refused:
            print(f"seed-demo: {refused}", file=sys.stderr)
            return 1
    return 0


async def _offer_demo(database_url: str, complaints: int) -> None:
    """`make run` with ADUAN_SEED_DEMO_COMPLAINTS: demo data on an empty database only."""
    demo = importlib.import_module(DEMO_SEED)
    try:
        await _seed_demo(database_url, complaints)
    except demo.DemoRefused:
        print("seed-demo: the database already holds complaints; no demo data added")


def cmd_run(settings: Settings) -> int:
    with (
        infrastructure(settings) as (database_url, redis_url),
        tempfile.TemporaryDirectory(prefix="aduan-run-") as run_dir,
    ):
        alembic_upgrade(database_url)
        asyncio.run(_seed(database_url))
        if settings.seed_demo_complaints:
            asyncio.run(_offer_demo(database_url, settings.seed_demo_complaints))
        env = dict(os.environ)
        env["ADUAN_DATABASE_URL"] = database_url
        env["ADUAN_REDIS_URL"] = redis_url
        signing_key, verify_keys = identity_keys(settings)
        env.pop(SIGNING_KEY_ENV, None)  # the gateway's alone: see write_procfile
        env["ADUAN_INTERNAL_VERIFY_KEYS"] = verify_keys
        gateway_only = {}
        if not settings.jwt_keys:
            # This run's access-token key (tokens end with the run); production sets its own.
            gateway_only["ADUAN_JWT_KEYS"] = json.dumps({"run": secrets.token_urlsafe(32)})
            gateway_only["ADUAN_JWT_ACTIVE_KID"] = "run"
        root = project_root()
        procfile = write_procfile(root / "Procfile", Path(run_dir), signing_key, gateway_only)
        bin_dir = str(Path(sys.executable).parent)
        env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
        gateway = f"http://{settings.host}:{settings.gateway_port}"
        print(f"Aduan starting: API {gateway}/api/v1, docs {gateway}/docs, ready {gateway}/readyz")
        # honcho supervises. Ctrl-C reaches it through the terminal's process group; SIGTERM
        # (Docker, systemd, a CI runner) reaches only us, so we pass it on. Either way honcho
        # stops every process, and then the `infrastructure` block stops the servers.
        honcho = subprocess.Popen(
            [os.path.join(bin_dir, "honcho"), "start", "-f", procfile],
            env=env,
            cwd=root,
        )

        def pass_on(signum: int, _frame: object) -> None:
            with contextlib.suppress(ProcessLookupError):
                honcho.send_signal(signal.SIGTERM)

        previous_int = signal.signal(signal.SIGINT, signal.SIG_IGN)
        previous_term = signal.signal(signal.SIGTERM, pass_on)
        try:
            return honcho.wait()
        finally:
            signal.signal(signal.SIGINT, previous_int)
            signal.signal(signal.SIGTERM, previous_term)


def cmd_serve(settings: Settings, service: str) -> None:
    import uvicorn

    uvicorn.run(
        f"{service}.main:app",
        host=settings.host,
        port=getattr(settings, f"{service}_port"),
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=10,
        # Longer than the gateway's pooled connections live (30 s): a connection is closed by
        # the client side first, never under a request the gateway is about to send on it.
        timeout_keep_alive=75,
        loop="uvloop",
        http="httptools",
        # The gateway writes one line per request itself; the services' lines only repeat it.
        access_log=settings.access_log,
        # At the edge, ADUAN_TRUSTED_PROXIES alone decides whom X-Forwarded-For is believed
        # from (uvicorn would believe any local peer); the services believe the gateway.
        proxy_headers=service != "gateway",
    )


def cmd_worker(service: str) -> None:
    import uvloop
    from arq.worker import run_worker

    uvloop.install()
    module = importlib.import_module(f"{service}.worker")
    run_worker(module.worker_settings())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aduan", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply the Alembic migrations")
    sub.add_parser(
        "seed", help="seed regions, population, categories, agencies and default rules (idempotent)"
    )
    demo = sub.add_parser(
        "seed-demo",
        help="add a year of realistic demo complaints (refuses a database with complaints)",
    )
    demo.add_argument("--complaints", type=int, default=10_000, help="how many (default 10000)")
    demo.add_argument(
        "--add", action="store_true", help="add them even when the database has complaints"
    )
    demo.add_argument("--seed", type=int, default=10, help="random seed (the same data again)")
    demo.add_argument("--chunk", type=int, default=5000, help="complaints per transaction")
    demo.add_argument(
        "--workers",
        type=int,
        help="processes that live the complaints (default: one per CPU from 5,000)",
    )
    sub.add_parser("run", help="migrate, seed and start every service and worker")
    serve = sub.add_parser("serve", help="run one service's HTTP server")
    serve.add_argument("service", choices=SERVICES)
    worker = sub.add_parser("worker", help="run one service's arq worker")
    worker.add_argument("service", choices=WORKERS)
    sub.add_parser(
        "identity-keys",
        help="print a new Ed25519 key pair for the gateway's identity header (as env lines)",
    )
    # Listed for help only: main() hands everything after it to the gateway's own parser.
    sub.add_parser("api-key", help="create, list or revoke API keys (aduan api-key -h)")
    receiver = sub.add_parser("webhook-receiver", help="print (and verify) webhooks, for trying")
    receiver.add_argument("--host", default="127.0.0.1")
    receiver.add_argument("--port", type=int, default=9000)
    receiver.add_argument("--secret", help="the endpoint's whsec_ secret, to verify signatures")
    arguments = sys.argv[1:] if argv is None else argv
    if arguments[:1] == ["api-key"]:
        # The gateway owns API keys; imported by name (as serve and worker do), so the kernel
        # itself imports no service.
        keys: int = importlib.import_module("gateway.cli").main(arguments[1:])
        return keys
    args = parser.parse_args(arguments)

    settings = get_settings()
    if args.command == "migrate":
        cmd_migrate(settings)
    elif args.command == "seed":
        cmd_seed(settings)
    elif args.command == "seed-demo":
        return cmd_seed_demo(settings, args)
    elif args.command == "run":
        return cmd_run(settings)
    elif args.command == "serve":
        cmd_serve(settings, args.service)
    elif args.command == "worker":
        cmd_worker(args.service)
    elif args.command == "identity-keys":
        from services.identity import generate_keypair

        private, public = generate_keypair()
        print(f"{SIGNING_KEY_ENV}={private}  # the gateway only")
        print(f"ADUAN_INTERNAL_VERIFY_KEYS={public}  # every service and worker")
    elif args.command == "webhook-receiver":
        from services.dev_receiver import run_receiver

        run_receiver(args.host, args.port, args.secret)
    return 0


if __name__ == "__main__":
    sys.exit(main())
