"""Every performance target, in one table: `bench.py` checks and prints it, and a test holds
docs/performance.md to it (pure data, so the test can import it without running anything)."""

from __future__ import annotations

from typing import NamedTuple


class Target(NamedTuple):
    what: str
    bound: float  # the measured figure must be <= this (ratios and milliseconds alike)
    unit: str

    def row(self, key: str) -> str:
        """The row docs/performance.md shows for this target."""
        return f"| {key} | {self.what} | <= {self.bound:g} {self.unit} |"


TARGETS: dict[str, Target] = {
    "per-call": Target("before-call, per call, median of the four / floor", 1.10, "x"),
    "wire": Target("wire mode, per call, median of the four / before-send floor", 1.08, "x"),
    "scaling": Target("per call with many credentials stored / with one, worst", 1.05, "x"),
    "import": Target("`import sscstub` on top of botocore", 15.0, "ms"),
    "memory": Target("memory per stored credential", 1024.0, "B"),
    "freezegun": Target("per call with freezegun active / inactive, median", 1.5, "x"),
}
