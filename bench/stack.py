"""The stack under test: servers, scratch databases, queue prefixes and every child process.

Each figure gets a `Platform`: its own scratch database (created, migrated with
`services.cli.alembic_upgrade`, seeded with the project's seed, dropped at the end), its own
ADUAN_QUEUE_PREFIX (its Redis keys purged at the end), and the processes of the Procfile
started as `python -m services.cli <args>` with the environment `aduan run` gives them.

Children run in sessions of their own (Ctrl-C reaches only the harness, which stops them in
order) and die with the harness even when it is SIGKILLed (PR_SET_PDEATHSIG).
"""

import asyncio
import atexit
import contextlib
import ctypes
import logging
import os
import re
import secrets
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from arq.connections import ArqRedis
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from services.cli import alembic_upgrade, infrastructure
from services.db import SessionMaker, create_sessionmaker
from services.embedded import free_port
from services.identity import generate_keypair
from services.queue import create_arq_redis
from services.seed import seed_reference_data
from services.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger("bench")
PR_SET_PDEATHSIG = 1
# Inherited variables that would point the processes somewhere else than this stack.
_ADDRESS_VARIABLE = re.compile(r"^ADUAN_(\w+_URL|\w+_PORT|HOST)$")


def die_with_parent() -> None:
    """Runs in a child between fork and exec: the kernel kills it when the harness dies."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class Child:
    name: str
    process: "subprocess.Popen[bytes]"
    log_path: Path

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def tail(self, chars: int = 3000) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:]


class Supervisor:
    """Starts child processes and makes sure none outlives the harness."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.children: list[Child] = []
        atexit.register(self.kill_all)

    def spawn(self, name: str, argv: Sequence[str], env: dict[str, str]) -> Child:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name}.log"
        with log_path.open("ab") as out:
            out.write(f"==== {time.strftime('%H:%M:%S')} {shlex.join(argv)}\n".encode())
            out.flush()
            process = subprocess.Popen(
                list(argv),
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                # From the main thread only: PDEATHSIG follows the thread that forked.
                preexec_fn=die_with_parent,
            )
        child = Child(name, process, log_path)
        self.children.append(child)
        return child

    def stop(self, children: Iterable[Child], timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL what is still running after `timeout` seconds."""
        running = [c for c in children if c.alive]
        for child in running:
            with contextlib.suppress(ProcessLookupError):
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for child in running:
            try:
                child.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                log.warning("%s did not stop within %.0f s: killed", child.name, timeout)
                child.process.kill()
                child.process.wait(5)
        self.children = [c for c in self.children if c.alive]

    def stop_all(self) -> None:
        self.stop(reversed(self.children))

    def kill_all(self) -> None:
        for child in self.children:
            if child.alive:
                with contextlib.suppress(ProcessLookupError):
                    child.process.kill()


@dataclass(frozen=True)
class Entry:
    """One Procfile line: `name: aduan <args>`."""

    name: str
    args: tuple[str, ...]

    @property
    def is_service(self) -> bool:
        return self.args[:1] == ("serve",)

    @property
    def is_worker(self) -> bool:
        return not self.is_service

    @property
    def consumer(self) -> str | None:
        """The arq consumer of `aduan worker <consumer>`."""
        return self.args[1] if self.args[:1] == ("worker",) and len(self.args) > 1 else None


def procfile_entries(root: Path = ROOT) -> list[Entry]:
    """What `make run` starts (through honcho and the Procfile)."""
    entries: list[Entry] = []
    for raw in (root / "Procfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, _, command = line.partition(":")
        tokens = shlex.split(command)
        if not tokens or tokens[0] != "aduan":
            raise RuntimeError(f"Procfile entry {name!r} does not run `aduan`: {command!r}")
        entries.append(Entry(name.strip(), tuple(tokens[1:])))
    return entries


@dataclass(frozen=True)
class Servers:
    """PostgreSQL (any database on it: scratch ones are created beside) and Redis."""

    database_url: str
    redis_url: str
    embedded: bool


@contextlib.contextmanager
def servers() -> Iterator[Servers]:
    """ADUAN_DATABASE_URL / ADUAN_REDIS_URL, or embedded servers the way `aduan run` starts
    them (under var/bench, apart from `make run`'s own data)."""
    settings = Settings(var_dir=ROOT / "var" / "bench")
    embedded = not (settings.database_url and settings.redis_url)
    with infrastructure(settings) as (database_url, redis_url):
        yield Servers(database_url, redis_url, embedded)


async def admin_execute(server_url: str, statement: str) -> None:
    engine = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


async def purge_redis(redis: ArqRedis, pattern: str, *, max_seconds: float = 60.0) -> int:
    """Delete every key matching `pattern` (bounded in time)."""
    deleted = 0
    deadline = time.monotonic() + max_seconds
    cursor: int = 0
    for _ in range(100_000):  # SCAN pages
        if time.monotonic() > deadline:
            break
        cursor, keys = await redis.scan(cursor=cursor, match=pattern, count=2000)
        if keys:
            deleted += await redis.unlink(*keys)
        if cursor == 0:
            break
    return deleted


@dataclass
class Stack:
    """The servers, the child processes and what this run created on the servers."""

    servers: Servers
    supervisor: Supervisor
    run_id: str = field(default_factory=lambda: secrets.token_hex(3))
    databases: list[str] = field(default_factory=list)
    template: str | None = None
    prefixes: list[str] = field(default_factory=list)
    admin_key: str = field(default_factory=lambda: "bench-admin-" + secrets.token_hex(12))
    # (the gateway's private key, the services' verify key) of the identity header
    identity_keys: tuple[str, str] = field(default_factory=generate_keypair)

    def database_url(self, name: str) -> str:
        url = make_url(self.servers.database_url).set(database=name)
        return url.render_as_string(hide_password=False)

    async def create_database(self, tag: str, copy_of: str | None = None) -> str:
        """A fresh database: a copy of this run's template, which was created, migrated with
        the project's Alembic history and seeded once (copying takes a tenth of a second), or
        of the database `copy_of` (a URL; nothing may be connected to it)."""
        if copy_of is not None:
            source = make_url(copy_of).database or ""
        elif self.template is None:
            name = f"aduan_bench_{self.run_id}"
            await admin_execute(self.servers.database_url, f'CREATE DATABASE "{name}"')
            self.databases.append(name)
            url = self.database_url(name)
            await asyncio.to_thread(alembic_upgrade, url)  # alembic runs its own event loop
            engine = create_async_engine(url)
            try:
                async with create_sessionmaker(engine)() as session:
                    await seed_reference_data(session)
                    await session.commit()
            finally:
                await engine.dispose()
            self.template = source = name
        else:
            source = self.template
        name = f"aduan_bench_{self.run_id}_{tag}"
        await admin_execute(
            self.servers.database_url, f'CREATE DATABASE "{name}" TEMPLATE "{source}"'
        )
        self.databases.append(name)
        return self.database_url(name)

    async def drop_database(self, name: str) -> None:
        await admin_execute(
            self.servers.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'
        )
        if name in self.databases:
            self.databases.remove(name)

    async def purge_prefix_pattern(self, pattern: str) -> int:
        redis = ArqRedis.from_url(self.servers.redis_url)
        try:
            return await purge_redis(redis, pattern)
        finally:
            await redis.aclose()

    async def purge_prefix(self, prefix: str) -> None:
        await self.purge_prefix_pattern(f"*{prefix}*")
        if prefix in self.prefixes:
            self.prefixes.remove(prefix)

    async def cleanup(self) -> None:
        """Drop what is left (after Ctrl-C, say). Each step is tried even if one fails."""
        for name in list(self.databases):
            try:
                await self.drop_database(name)
            except Exception as exc:
                log.warning("could not drop database %s: %r", name, exc)
        for prefix in list(self.prefixes):
            try:
                await self.purge_prefix(prefix)
            except Exception as exc:
                log.warning("could not purge Redis keys of %s: %r", prefix, exc)

    @contextlib.asynccontextmanager
    async def platform(
        self, tag: str, extra_env: dict[str, str] | None = None, copy_of: str | None = None
    ) -> AsyncIterator["Platform"]:
        """A platform on a fresh database (or a copy of the database `copy_of`) and queue
        prefix; nothing is started yet."""
        started = time.monotonic()
        database_url = await self.create_database(tag, copy_of)
        log.info("%s: scratch database ready in %.1f s", tag, time.monotonic() - started)
        database_name = make_url(database_url).database or ""
        prefix = f"aduanbench_{self.run_id}_{tag}"
        self.prefixes.append(prefix)
        platform = Platform(self, tag, database_url, prefix, extra_env or {})
        try:
            yield platform
        finally:
            started = time.monotonic()
            await platform.close()
            await self.drop_database(database_name)
            await self.purge_prefix(prefix)
            log.info("%s: torn down in %.1f s", tag, time.monotonic() - started)


class Platform:
    """The processes of one figure, on its own database and queue prefix."""

    def __init__(
        self,
        stack: Stack,
        tag: str,
        database_url: str,
        prefix: str,
        extra_env: dict[str, str],
    ) -> None:
        self.stack = stack
        self.tag = tag
        self.entries = procfile_entries()
        self.extra_env = extra_env
        self.settings = Settings(
            _env_file=None,
            database_url=database_url,
            redis_url=stack.servers.redis_url,
            queue_prefix=prefix,
            admin_api_key=stack.admin_key,
            internal_verify_keys=stack.identity_keys[1],
            webhook_allow_private_targets=True,
        )
        self.ports = {e.args[1]: free_port() for e in self.entries if e.is_service}
        self.running: list[tuple[Entry | None, Child]] = []
        self.endpoints: list[str] = []  # webhook endpoints registered on this platform
        self.engine: AsyncEngine = create_async_engine(database_url, pool_size=4)
        self.sessionmaker: SessionMaker = create_sessionmaker(self.engine)
        self.redis: ArqRedis = create_arq_redis(self.settings)

    @property
    def prefix(self) -> str:
        return self.settings.queue_prefix

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    def queue(self, consumer: str) -> str:
        return f"{self.prefix}:{consumer}"

    def env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """What `aduan run` gives its processes, on this platform's database and prefix."""
        env = {k: v for k, v in os.environ.items() if not _ADDRESS_VARIABLE.match(k)}
        env |= {
            "ADUAN_DATABASE_URL": self.settings.require_database_url(),
            "ADUAN_REDIS_URL": self.settings.require_redis_url(),
            "ADUAN_INTERNAL_VERIFY_KEYS": self.stack.identity_keys[1],
            "ADUAN_ADMIN_API_KEY": self.stack.admin_key,
            "ADUAN_QUEUE_PREFIX": self.prefix,
            "ADUAN_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
            # P1 files every complaint from one address, far past the anonymous-create limit.
            "ADUAN_RATE_LIMITS_ENABLED": "false",
            "ADUAN_HOST": "127.0.0.1",
            "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
        }
        env |= {f"ADUAN_{name.upper()}_PORT": str(port) for name, port in self.ports.items()}
        return env | self.extra_env | (extra or {})

    def spawn(
        self,
        name: str,
        argv: Sequence[str],
        extra_env: dict[str, str] | None = None,
        entry: Entry | None = None,
    ) -> Child:
        child = self.stack.supervisor.spawn(f"{self.tag}-{name}", argv, self.env(extra_env))
        self.running.append((entry, child))
        return child

    def start_entry(self, entry: Entry, instances: int = 1) -> None:
        for i in range(instances):
            name = entry.name if instances == 1 else f"{entry.name}-{i + 1}"
            # The private key goes to the gateway alone (services refuse to start with it).
            key = {"ADUAN_INTERNAL_SIGNING_KEY": self.stack.identity_keys[0]}
            extra = key if list(entry.args) == ["serve", "gateway"] else None
            self.spawn(name, [sys.executable, "-m", "services.cli", *entry.args], extra, entry)

    def services_running(self) -> bool:
        return any(e is not None and e.is_service and c.alive for e, c in self.running)

    async def start_services(self, within: float = 90.0) -> None:
        """Every `serve` entry of the Procfile (once), then wait for the gateway's /readyz."""
        started = time.monotonic()
        if not self.services_running():
            for entry in self.entries:
                if entry.is_service:
                    self.start_entry(entry)
        await self.wait_ready(within)
        log.info("%s: services ready in %.1f s", self.tag, time.monotonic() - started)

    def instances(self, entry: Entry) -> list[Child]:
        return [c for e, c in self.running if e == entry]

    async def scale_workers(self, count: Callable[[Entry], int], wait: bool = True) -> None:
        """Run count(entry) processes of each worker entry: entries already at their count are
        left alone, the others are stopped and started again. With `wait`, until each
        started arq worker's health-check key is there."""
        changed = [e for e in self.entries if e.is_worker and len(self.instances(e)) != count(e)]
        if not changed:
            return
        started = time.monotonic()
        self.stop_children(lambda e: e in changed)
        starting = [e for e in changed if count(e) > 0]
        keys = [f"{self.queue(e.consumer)}:health-check" for e in starting if e.consumer]
        if keys:
            await self.redis.delete(*keys)
        for entry in starting:
            self.start_entry(entry, count(entry))
        if wait and starting:
            await self.wait_for_keys(keys)
            names = ", ".join(f"{e.name}×{count(e)}" for e in starting)
            log.info("%s: %s up in %.1f s", self.tag, names, time.monotonic() - started)

    def stop_children(self, select: Callable[[Entry | None], bool]) -> None:
        chosen = [child for entry, child in self.running if select(entry)]
        self.running = [(e, c) for e, c in self.running if c not in chosen]
        self.stack.supervisor.stop(chosen)

    def stop_child(self, child: Child) -> None:
        self.running = [(e, c) for e, c in self.running if c is not child]
        self.stack.supervisor.stop([child])

    def stop_extras(self) -> None:
        """Stop what is not the platform's own (receivers, baselines)."""
        self.stop_children(lambda e: e is None)

    def check_alive(self) -> None:
        for _, child in self.running:
            if not child.alive:
                raise RuntimeError(f"{child.name} exited early:\n{child.tail()}")

    async def wait_ready(self, within: float) -> None:
        deadline = time.monotonic() + within
        last = ""
        async with aiohttp.ClientSession() as http:
            for _ in range(int(within / 0.3) + 10):
                if time.monotonic() > deadline:
                    break
                self.check_alive()
                try:
                    async with http.get(
                        f"{self.gateway}/readyz", timeout=aiohttp.ClientTimeout(total=3)
                    ) as response:
                        if response.status == 200:
                            return
                        last = await response.text()
                except (aiohttp.ClientError, TimeoutError) as exc:
                    last = repr(exc)
                await asyncio.sleep(0.3)
        raise RuntimeError(f"platform {self.tag} not ready within {within:.0f} s: {last}")

    async def wait_for_keys(self, keys: Sequence[str], within: float = 60.0) -> None:
        deadline = time.monotonic() + within
        for _ in range(int(within / 0.2) + 10):
            if not keys or time.monotonic() > deadline:
                break
            self.check_alive()
            if await self.redis.exists(*keys) == len(keys):
                return
            await asyncio.sleep(0.2)
        if keys:
            raise RuntimeError(f"workers of {self.tag} not up within {within:.0f} s: {keys}")

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.engine.connect() as conn:
            return (await conn.execute(text(sql), params)).scalar()

    async def close(self) -> None:
        # Workers (started last) first, then the services.
        children = [c for _, c in reversed(self.running)]
        self.running = []
        self.stack.supervisor.stop(children)
        with contextlib.suppress(Exception):
            await self.redis.aclose()
        await self.engine.dispose()
