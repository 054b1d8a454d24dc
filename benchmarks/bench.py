"""sscstub's benchmark: every figure of the Performance section, in one run.

    python benchmarks/bench.py            # the full run behind the README's table (~2 min)
    python benchmarks/bench.py --quick    # a few rounds of everything: proves the script works

Times are medians over rounds; the variants of one table take turns inside each round, so a
noisy neighbour slows them alike. Every ratio divides by a figure measured in the same run.

The floor is the same boto3 IAM client with one bare ``before-call.iam`` handler (registered
first) returning a canned ``(AWSResponse, parsed)`` pair: what is left is botocore's own
client-side work (parameter validation, serialisation, endpoint resolution, events), which no
before-call stub can go below.

Each front end has its file (`bench_before_call`, `bench_wire`, `bench_endpoint` for the HTTP
endpoint, run on its own), over one timing helper (`timing`); `instructions` counts instructions
per call with valgrind. Nothing here asserts a time: CI runs ``--quick`` only to prove the script
works.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable

from bench_before_call import (
    report_activation,
    report_calls,
    report_freezegun,
    report_import,
    report_memory,
    report_moto,
    report_scaling,
)
from bench_wire import report_wire
from instructions import report_instructions
from timing import Settings, Table, machine, markdown, targets_table

import sscstub

REPORTS: tuple[Callable[[Settings, bool], Table], ...] = (
    report_calls,
    report_instructions,
    report_wire,
    report_moto,
    report_activation,
    report_scaling,
    report_import,
    report_memory,
    report_freezegun,
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few rounds: prove the script works")
    parser.add_argument("--no-moto", action="store_true", help="skip the moto figures")
    args = parser.parse_args()
    s = Settings(args.quick)
    started = time.perf_counter()
    print(f"sscstub {sscstub.__version__} benchmark{' (--quick)' if s.quick else ''}")
    print(f"machine: {machine()}")
    print(f"medians over {s.rounds} interleaved rounds of {s.calls} calls")
    measured: dict[str, float] = {}
    for report in REPORTS:
        table = report(s, not args.no_moto)
        measured.update(table.measured)
        if table.rows:
            print(f"\n{markdown(table.columns, table.rows)}")
    print(f"\n{targets_table(measured)}")
    print(f"\nran in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
