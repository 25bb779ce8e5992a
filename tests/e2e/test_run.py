"""`aduan run` (what `make run` calls) with no URLs configured: embedded servers, every process."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from services.embedded import free_port
from tests.e2e.platform import ROOT

pytestmark = pytest.mark.e2e


def redis_running(var: Path) -> bool:
    try:
        os.kill(int((var / "redis" / "redis.pid").read_text().strip()), 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return False
    return True


@pytest.mark.parametrize("stop", ["ctrl-c", "sigterm"])
def test_run_starts_the_platform_on_embedded_servers_and_a_signal_stops_it_all(
    tmp_path: Path, stop: str
) -> None:
    ports = {name: free_port() for name in ("gateway", "intake", "routing", "notifications")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADUAN_")}
    env |= {f"ADUAN_{name.upper()}_PORT": str(port) for name, port in ports.items()}
    env["ADUAN_VAR_DIR"] = str(tmp_path / "var")
    log = (tmp_path / "run.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "run"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, as a terminal would give it
    )
    gateway = f"http://127.0.0.1:{ports['gateway']}"
    try:
        deadline = time.monotonic() + 180
        ready = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                ready = httpx.get(f"{gateway}/readyz", timeout=2)
                if ready.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        output = (tmp_path / "run.log").read_text(errors="replace")
        assert ready is not None and ready.status_code == 200, output[-3000:]
        assert (tmp_path / "var" / "pg" / "PG_VERSION").exists()
        assert (tmp_path / "var" / "redis" / "appendonly.aof").exists() or any(
            (tmp_path / "var" / "redis").glob("appendonly*")
        )
        assert f"{gateway}/docs" in output
        categories = httpx.get(f"{gateway}/api/v1/categories", timeout=5)
        assert categories.status_code == 200 and len(categories.json()) == 9
    finally:
        if stop == "ctrl-c":
            # Ctrl-C in a terminal signals the whole foreground process group.
            os.killpg(process.pid, signal.SIGINT)
        else:
            # Docker, systemd and CI runners signal the main process alone.
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"{gateway}/healthz", timeout=2)
    assert not (tmp_path / "var" / "pg" / "postmaster.pid").exists()
    assert not redis_running(tmp_path / "var")
