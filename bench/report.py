"""The results: one Markdown table on stdout, and JSON (bench/results/latest.json by default).

JSON: {"machine": {...}, "started_at", "mode", "load_generator", "figures": [{"id", "figure",
"value", "unit", "baseline", "ratio", "target", "ok", "details"}]}. `ok` is null for figures
reported for information only.
"""

import json
import math
import os
import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

RESULTS = Path(__file__).resolve().parent / "results"


@dataclass
class Figure:
    id: str
    figure: str
    value: float | None
    unit: str
    target: str
    ok: bool | None
    baseline: float | None = None
    ratio: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


def failed(id_: str, figure: str, unit: str, target: str, error: BaseException) -> Figure:
    """A figure whose measurement broke: no value, not ok, the error in the details."""
    return Figure(id_, figure, None, unit, target, False, details={"error": repr(error)})


def _number(value: float | None, unit: str = "") -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float) and math.isinf(value):
        return "∞"
    if abs(value) >= 100 or value == int(value):
        text_ = f"{value:,.0f}"
    elif abs(value) >= 10:
        text_ = f"{value:.1f}"
    else:
        text_ = f"{value:.2f}"
    return f"{text_} {unit}".strip()


def verdict(ok: bool | None) -> str:
    return "info" if ok is None else ("pass" if ok else "**FAIL**")


def markdown_table(figures: list[Figure]) -> str:
    lines = [
        "| figure | subject | baseline | ratio | target | result |",
        "|---|---|---|---|---|---|",
    ]
    for f in figures:
        value = _number(f.value, f.unit)
        if f.details.get("censored"):
            value = "> " + value
        baseline = _number(f.baseline, f.unit)
        ratio = "—" if f.ratio is None else f"{f.ratio:.2f}"
        lines.append(
            f"| {f.id} {f.figure} | {value} | {baseline} | {ratio} | {f.target} | {verdict(f.ok)} |"
        )
    return "\n".join(lines)


def p1_table(figures: list[Figure]) -> str | None:
    """P1's four loads side by side (medians), when P1 ran."""
    p1 = next((f for f in figures if f.id == "P1" and "medians" in f.details), None)
    if p1 is None:
        return None
    names = p1.details["baselines"] | {"subject": "the gateway → intake (every worker running)"}
    lines = ["| P1 load | creates/s | p50 | p99 |", "|---|---|---|---|"]
    for key, median in p1.details["medians"].items():
        label = f"({key}) {names[key]}" if key != "subject" else names[key]
        lines.append(
            f"| {label} | {_number(median['creates_per_s'])} | {_number(median['p50_ms'], 'ms')} "
            f"| {_number(median['p99_ms'], 'ms')} |"
        )
    return "\n".join(lines)


def _clean(value: Any) -> Any:
    """JSON has no NaN or infinity: null instead."""
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def write_json(path: Path, document: dict[str, Any], figures: list[Figure]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = _clean(document | {"figures": [asdict(f) for f in figures]})
    path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


async def machine(database_url: str, redis_url: str) -> dict[str, Any]:
    from redis.asyncio import Redis

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            postgres = (await conn.execute(text("SHOW server_version"))).scalar()
    finally:
        await engine.dispose()
    redis = Redis.from_url(redis_url)
    try:
        info = await redis.info("server")
    finally:
        await redis.aclose()
    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model(),
        "python": platform.python_version(),
        "postgres": str(postgres),
        "redis": str(info.get("redis_version")),
        "os": platform.platform(),
    }
