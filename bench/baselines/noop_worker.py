"""Baseline of P3: one arq worker running no-op jobs from BENCH_NOOP_QUEUE.

Its settings are the project's (`services.worker.build_worker_settings`: max_jobs, poll_delay,
job_timeout, keep_result, ...), with only the functions, the queue, the crons and the start-up
hooks replaced: a no-op job touches neither the database nor the relay.
"""

import json
import os
from typing import Any

from arq.worker import create_worker

from services.events.catalogue import Consumer
from services.worker import build_worker_settings

NOOP = "noop"


async def noop(ctx: dict[str, Any]) -> None:
    return None


def worker_settings() -> type:
    project = build_worker_settings(Consumer.routing, [noop])
    attributes = {k: v for k, v in vars(project).items() if not k.startswith("__")}
    attributes |= {
        "functions": [noop],
        "cron_jobs": [],
        "queue_name": os.environ["BENCH_NOOP_QUEUE"],
        "on_startup": None,
        "on_shutdown": None,
    }
    return type("NoopWorkerSettings", (), attributes)


def main() -> None:
    worker = create_worker(worker_settings())
    effective = {
        "max_jobs": worker.max_jobs,
        "poll_delay_s": worker.poll_delay_s,
        "queue_read_limit": worker.queue_read_limit,
        "job_timeout_s": worker.job_timeout_s,
        "keep_result_s": worker.keep_result_s,
    }
    print("BENCH-WORKER-SETTINGS " + json.dumps(effective), flush=True)
    worker.run()


if __name__ == "__main__":
    main()
