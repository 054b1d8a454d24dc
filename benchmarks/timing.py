"""What every benchmark here shares: fake credentials in the environment, the settings of a
run, the interleaved timing (medians over rounds in which the variants take turns, so a noisy
neighbour slows them alike), the floor client, and the tables the reports print."""

from __future__ import annotations

import gc
import os
import platform
import statistics
import time
from collections.abc import Callable
from typing import Any, NamedTuple

from targets import TARGETS, verdicts

for _name, _value in {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}.items():
    os.environ[_name] = _value
os.environ.pop("AWS_PROFILE", None)

import boto3  # noqa: E402
import botocore  # noqa: E402
from botocore.awsrequest import AWSResponse  # noqa: E402

USER = "jane"
SERVICE = "codecommit.amazonaws.com"
OTHER = "bedrock.amazonaws.com"


class Settings:
    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.rounds = 3 if quick else 15
        self.calls = 20 if quick else 200  # calls per variant per round
        self.activations = 50 if quick else 2000
        self.stored = 2_000 if quick else 100_000
        self.imports = 2 if quick else 9


# --- timing -------------------------------------------------------------------------------------

# freezegun replaces every module attribute that is a real clock function; in a tuple it stays real.
_CLOCK = (time.perf_counter_ns,)


def per_call(fn: Callable[[], object], n: int) -> float:
    """Mean microseconds per call of ``fn`` over ``n`` calls, garbage collector paused."""
    gc.collect()
    gc.disable()
    try:
        clock = _CLOCK[0]
        start = clock()
        for _ in range(n):
            fn()
        return (clock() - start) / n / 1000
    finally:
        gc.enable()


def interleaved(
    variants: dict[str, Callable[[], object]],
    rounds: int,
    n: int,
    before: Callable[[str], object] = lambda name: None,
) -> dict[str, float]:
    """Median over ``rounds`` of each variant's mean µs per call; variants alternate each round.
    ``before(name)`` runs ahead of each batch of a variant (untimed)."""
    samples: dict[str, list[float]] = {name: [] for name in variants}
    for name, fn in variants.items():  # warm up caches and lazy imports
        before(name)
        per_call(fn, max(3, n // 10))
    for i in range(rounds):
        order = list(variants.items())
        if i % 2:
            order.reverse()
        for name, fn in order:
            before(name)
            samples[name].append(per_call(fn, n))
    return {name: statistics.median(values) for name, values in samples.items()}


# --- clients ------------------------------------------------------------------------------------


def iam_client() -> Any:
    return boto3.session.Session().client("iam", region_name="us-east-1")


def canned(client: Any, answers: dict[str, dict[str, Any]]) -> Any:
    """``client`` with the floor's bare handler: a fixed answer per operation, registered first."""
    response = AWSResponse("https://iam.amazonaws.com/", 200, {"content-type": "text/xml"}, None)

    def floor(model: Any, **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        return response, answers[model.name]

    client.meta.events.register_first("before-call.iam", floor)
    return client


def without_metadata(parsed: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in parsed.items() if k != "ResponseMetadata"}


# --- report -------------------------------------------------------------------------------------


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}, botocore {botocore.__version__}"
    )


class Table(NamedTuple):
    title: str
    columns: tuple[str, ...]
    rows: list[tuple[str, ...]]
    measured: dict[str, float]  # target key -> the figure checked against TARGETS


def markdown(columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|---" + "|---:" * (len(columns) - 1) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def targets_table(measured: dict[str, float]) -> str:
    return verdicts(TARGETS, measured)
