"""Start the real platform (every service and worker as its own process) for end-to-end tests."""

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from services.embedded import free_port
from services.settings import Settings
from tests.databases import scratch_database
from tests.signing import SIGNING_KEY

ROOT = Path(__file__).resolve().parents[2]
# The gateway's access-token key (only the gateway signs and verifies access tokens).
JWT_KEYS = '{"e2e-2026": "e2e-access-token-signing-key-0123456789abcdef"}'
SERVICES = ("intake", "routing", "notifications", "gateway")
WORKERS = ("routing", "notifications")


@dataclass
class Platform:
    settings: Settings
    log_dir: Path
    # Extra ADUAN_* variables for every process, and per process (by name, e.g. "routing-worker").
    extra_env: dict[str, str] = field(default_factory=dict)
    process_env: dict[str, dict[str, str]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    # The gateway's private key: only the gateway process gets it; `settings` (a service's
    # view) holds the public key.
    signing_key: str = SIGNING_KEY
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def gateway(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    @property
    def media_dir(self) -> Path:
        """Where the platform's intake keeps attachment files."""
        return self.log_dir / "media"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def env(self, name: str = "") -> dict[str, str]:
        s = self.settings
        assert s.internal_verify_keys is not None and s.admin_api_key is not None
        env = {k: v for k, v in os.environ.items() if not k.startswith("ADUAN_")}
        env |= {
            "ADUAN_DATABASE_URL": s.require_database_url(),
            "ADUAN_REDIS_URL": s.require_redis_url(),
            "ADUAN_INTERNAL_VERIFY_KEYS": s.internal_verify_keys,
            "ADUAN_ADMIN_API_KEY": s.admin_api_key.get_secret_value(),
            "ADUAN_QUEUE_PREFIX": s.queue_prefix,
            "ADUAN_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
            "ADUAN_RELAY_INTERVAL_SECONDS": "1",
            "ADUAN_LOG_LEVEL": "INFO",
            # The tests file many complaints from one address; test_ratelimit_processes.py
            # starts gateways of its own with the limits on.
            "ADUAN_RATE_LIMITS_ENABLED": "false",
            "ADUAN_MEDIA_DIR": str(self.media_dir),  # attachments: the run's own store
        }
        env |= {f"ADUAN_{svc.upper()}_PORT": str(port) for svc, port in self.ports.items()}
        if name == "gateway":
            env["ADUAN_INTERNAL_SIGNING_KEY"] = self.signing_key
            env["ADUAN_JWT_KEYS"] = JWT_KEYS
        return env | self.extra_env | self.process_env.get(name, {})

    def start_process(self, name: str, *args: str) -> None:
        log = (self.log_dir / f"{name}.log").open("ab")
        self.processes[name] = subprocess.Popen(
            [sys.executable, "-m", "services.cli", *args],
            cwd=ROOT,
            env=self.env(name),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )

    def start(self) -> None:
        self.ports = {name: free_port() for name in SERVICES}
        for name in SERVICES:
            self.start_process(name, "serve", name)
        for name in WORKERS:
            self.start_process(f"{name}-worker", "worker", name)
        try:
            self.wait_ready()
        except BaseException:
            self.stop()  # a failed start must not leave the other processes running
            raise

    def start_worker(self, service: str) -> None:
        self.start_process(f"{service}-worker", "worker", service)

    def start_gateway(self, name: str, env: dict[str, str], timeout: float = 30) -> str:
        """One more gateway process (its own port, the platform gateway's variables and
        `env`) in front of the same services; its URL once it answers /healthz."""
        port = free_port()
        self.process_env[name] = self.env("gateway") | {"ADUAN_GATEWAY_PORT": str(port)} | env
        self.start_process(name, "serve", "gateway")
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.processes[name].poll() is not None:
                raise RuntimeError(f"{name} exited early:\n{self.log(name)}")
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{name} not up in {timeout}s:\n{self.log(name)}")

    def stop_process(self, name: str) -> None:
        process = self.processes.pop(name)
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited early:\n{self.log(name)}")
            try:
                response = httpx.get(f"{self.gateway}/readyz", timeout=2)
                if response.status_code == 200:
                    return
                last = response.text
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(0.3)
        raise RuntimeError(f"platform not ready in {timeout}s: {last}")

    def log(self, name: str) -> str:
        path = self.log_dir / f"{name}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextlib.contextmanager
def isolated_settings(settings: Settings, server_url: str, name: str) -> Iterator[Settings]:
    """`settings` on a database and queue namespace of their own: for a test whose data (many
    accounts, fuzzed input) must not reach the other e2e tests' shared platform."""
    with scratch_database(server_url, f"aduan_{name}") as url:
        yield settings.model_copy(
            update={
                "database_url": url,
                "queue_prefix": f"{name}{os.getpid()}{secrets.token_hex(3)}",
            }
        )


@contextlib.contextmanager
def running_platform(settings: Settings, log_dir: Path) -> Iterator[Platform]:
    running = Platform(settings, log_dir)
    try:
        running.start()
        yield running
    finally:
        running.stop()
