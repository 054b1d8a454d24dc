"""The last line of `make bench`: the gates (bounds an issue asked for) met or missed, and the
aims, from the verdicts the benchmarks wrote to the file named on the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(path: str) -> int:
    results = [json.loads(line) for line in Path(path).read_text().splitlines() if line]
    gates = [r for r in results if r["gate"]]
    missed = [f"{r['key']} ({r['gate']})" for r in gates if not r["met"]]
    aims = [r for r in results if not r["gate"]]
    aims_met = sum(r["met"] for r in aims)
    quick = " (--quick: too few rounds to judge wall-time figures)" if "--quick" in sys.argv else ""
    print(
        f"gates: {len(gates) - len(missed)} of {len(gates)} met"
        + (f", missed: {', '.join(missed)}" if missed else "")
        + f"; aims: {aims_met} of {len(aims)} met{quick}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
