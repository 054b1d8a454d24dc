"""Every performance target, in one table: `bench.py` checks and prints it, and a test holds
docs/performance.md to it (pure data, so the test can import it without running anything)."""

from __future__ import annotations

from typing import NamedTuple


class Target(NamedTuple):
    what: str
    bound: float  # the measured figure must be <= this (or >= with at_least)
    unit: str
    at_least: bool = False

    def row(self, key: str) -> str:
        """The row docs/performance.md shows for this target."""
        return f"| {key} | {self.what} | {self.sign} {self.bound:g} {self.unit} |"

    @property
    def sign(self) -> str:
        return ">=" if self.at_least else "<="

    def met(self, value: float) -> bool:
        return value >= self.bound if self.at_least else value <= self.bound


TARGETS: dict[str, Target] = {
    "per-call": Target("before-call, per call, median of the four / floor", 1.10, "x"),
    "instructions": Target("before-call, instructions per workload cycle / floor", 1.10, "x"),
    "instructions-stubber": Target("the same / Stubber's, add_response counted", 1.0, "x"),
    "wire": Target("wire mode, per call, median of the four / before-send floor", 1.08, "x"),
    "moto": Target("per call with moto's mock_aws on / off, median", 1.05, "x"),
    "scaling": Target("per call with many credentials stored / with one, worst", 1.05, "x"),
    "import": Target("`import sscstub` on top of botocore", 15.0, "ms"),
    "memory": Target("memory per stored credential", 1024.0, "B"),
    "freezegun": Target("per call with freezegun active / inactive, median", 1.5, "x"),
}


#: The local endpoint's targets (benchmarks/bench_endpoint.py); ratios against the zero-work
#: endpoint under the same load generator, or against moto's server.
ENDPOINT_TARGETS: dict[str, Target] = {
    "endpoint-lean-8": Target("requests/s, lean client, 8 clients / zero-work", 0.85, "x", True),
    "endpoint-vs-moto": Target("requests/s, lean client, 8 clients / moto's server", 10, "x", True),
    "endpoint-boto3-1": Target("requests/s, boto3, 1 client / zero-work", 0.9, "x", True),
    "endpoint-boto3-8": Target("requests/s, boto3, 8 clients / zero-work", 0.9, "x", True),
    "endpoint-p99": Target("p99 latency, boto3, 8 clients / zero-work", 1.2, "x"),
    "endpoint-startup": Target("start to first answered request / zero-work", 3, "x"),
    "cli-plugin-v2": Target(
        "an AWS CLI v2 call through the plugin / --generate-cli-skeleton", 1.2, "x"
    ),
    "cli-plugin-v1": Target(
        "an AWS CLI v1 call through the plugin / --generate-cli-skeleton", 1.2, "x"
    ),
    "endpoint-state": Target("requests/s, lean, 8 clients, --state on / off", 0.5, "x", True),
}


#: The endpoint in front of the rest of AWS (benchmarks/bench_compose.py): time per call, lean
#: keep-alive client, against the same call without the composition, in the same run.
COMPOSE_TARGETS: dict[str, Target] = {
    "compose-moto": Target(
        "a served call through serve --moto / plain serve, instructions", 1.1, "x"
    ),
    "compose-relay": Target(
        "a boto3 call relayed by serve --upstream / the upstream directly", 1.2, "x"
    ),
}
