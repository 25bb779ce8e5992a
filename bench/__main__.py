"""`python -m bench` (`make bench`): the platform's figures against the real stack.

Runs P1 (creates/s), P2 (submit → webhook latency under load), P3 (routing decisions/s), P5
(signed deliveries/s, and a slow endpoint's effect) and P10 (statistics, sweep, listing, create
and export on a demo set of --demo-complaints complaints) with the real services and workers,
prints a Markdown table and writes JSON (bench/results/latest.json unless --json says otherwise).
Uses ADUAN_DATABASE_URL / ADUAN_REDIS_URL when set, else embedded servers under var/bench.
Child processes' logs go to var/bench/logs/<time>/.
"""

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.figures import FIGURES, Config, Context
from bench.load import ClosedLoop
from bench.report import RESULTS, Figure, failed, machine, markdown_table, p1_table, write_json
from bench.stack import ROOT, Stack, Supervisor, servers

log = logging.getLogger("bench")
TITLES = {
    "P1": ("creates/s through the gateway", "/s", "≥ 0.50 × (c)"),
    "P2": ("submit → dispositioned webhook p50", "ms", "≤ 200 ms"),
    "P3": ("routing decisions/s, one routing worker", "/s", "≥ 0.40 × no-op"),
    "P5": ("signed deliveries/s, 2 notifications workers", "/s", "≥ 1,000/s"),
    "P10": ("the demo set: statistics, sweep, listing, create, export", "", "see rows"),
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="the seconds-long smoke version (small loads)"
    )
    parser.add_argument(
        "--only", default="", help="comma-separated figures to run, e.g. P1,P3 (default: all)"
    )
    parser.add_argument(
        "--duration",
        type=float,
        help="seconds of each load run of P1 and of P2's load (default 10 and 60; quick 2, 3)",
    )
    parser.add_argument(
        "--demo-complaints",
        type=int,
        help="size of P10's demo set (default 1,000,000; quick 1,000)",
    )
    parser.add_argument(
        "--json", type=Path, default=RESULTS / "latest.json", help="where to write the results"
    )
    args = parser.parse_args(argv)
    chosen = [f.strip().upper() for f in args.only.split(",") if f.strip()] or list(FIGURES)
    unknown = [f for f in chosen if f not in FIGURES]
    if unknown:
        parser.error(f"unknown figures {unknown}; known: {', '.join(FIGURES)}")
    args.figures = chosen
    if args.duration is not None and args.duration <= 0:
        parser.error("--duration must be positive")
    if args.demo_complaints is not None and args.demo_complaints <= 0:
        parser.error("--demo-complaints must be positive")
    return args


async def run(
    args: argparse.Namespace, stack: Stack, document: dict[str, Any], figures: list[Figure]
) -> None:
    # SIGTERM cancels like Ctrl-C does, so every platform is torn down on the way out.
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        document["machine"] = await machine(stack.servers.database_url, stack.servers.redis_url)
    except Exception as exc:
        document["machine"] = {"error": repr(exc)}
    config = Config(
        quick=args.quick, duration=args.duration, demo_complaints_arg=args.demo_complaints
    )
    async with contextlib.AsyncExitStack() as exits:
        ctx = Context(stack, config, ClosedLoop(allow_fallback=args.quick), exits)
        if "P1" in args.figures:
            try:
                document["load_generator"] = await asyncio.to_thread(ctx.load.version)
            except RuntimeError as exc:  # no wrk in a full run: P1 reports it
                document["load_generator"] = f"unavailable: {exc}"
        await run_figures(args.figures, ctx, figures)


async def run_figures(chosen: list[str], ctx: Context, figures: list[Figure]) -> None:
    # P3 first: it needs no services, and in quick mode no idle shared platform beside it.
    for figure_id in sorted(chosen, key=lambda f: (f != "P3", f)):
        log.info("%s: starting", figure_id)
        started = time.monotonic()
        try:
            results = await FIGURES[figure_id](ctx)
        except Exception as exc:
            log.exception("%s failed", figure_id)
            title, unit, target = TITLES[figure_id]
            results = [failed(figure_id, title, unit, target, exc)]
        figures += results
        log.info("%s: done in %.0f s", figure_id, time.monotonic() - started)


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s"
    )
    args = parse_args(argv)
    log_dir = ROOT / "var" / "bench" / "logs" / time.strftime("%Y%m%d-%H%M%S")
    supervisor = Supervisor(log_dir)
    document: dict[str, Any] = {
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "log_dir": str(log_dir),
    }
    figures: list[Figure] = []
    interrupted = False
    try:
        with servers() as found:
            document["servers"] = "embedded" if found.embedded else "configured"
            stack = Stack(found, supervisor)
            try:
                asyncio.run(run(args, stack, document, figures))
            except (KeyboardInterrupt, asyncio.CancelledError):
                interrupted = True
                log.warning("interrupted: stopping every process")
            finally:
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                signal.signal(signal.SIGTERM, signal.SIG_IGN)
                supervisor.stop_all()
                asyncio.run(stack.cleanup())
    finally:
        supervisor.kill_all()
    document["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    document["interrupted"] = interrupted
    figures.sort(key=lambda f: f.id.split(".")[0])  # stable: a figure's rows stay together
    write_json(args.json, document, figures)
    print(markdown_table(figures))
    extra = p1_table(figures)
    if extra:
        print("\n" + extra)
    print(f"\nresults: {args.json}   logs: {log_dir}")
    if interrupted:
        return 130
    return 1 if any("error" in f.details for f in figures) else 0


if __name__ == "__main__":
    sys.exit(main())
