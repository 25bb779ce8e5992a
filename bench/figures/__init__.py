"""The figures P1, P2, P3, P5 and P10 (the demo set), each on a platform of its own (see
bench.stack); in quick mode P1, P2 and P5 share one, to spare the start-ups.

Every wait is bounded in time and every loop in count; only loopback addresses are used.

One module per figure (p1, p2, p3, p5, p10); the run's configuration and context in context; the
shared platform helpers in workload, endpoints, probes and workers.
"""

from collections.abc import Awaitable, Callable

from bench.figures.context import Config, Context
from bench.figures.p1 import p1
from bench.figures.p2 import p2
from bench.figures.p3 import p3
from bench.figures.p5 import p5
from bench.figures.p10 import p10
from bench.report import Figure

__all__ = ["FIGURES", "Config", "Context"]

FIGURES: dict[str, Callable[[Context], Awaitable[list[Figure]]]] = {
    "P1": p1,
    "P2": p2,
    "P3": p3,
    "P5": p5,
    "P10": p10,  # issue 10: statistics, sweep, listing, create, export on the demo set
}
