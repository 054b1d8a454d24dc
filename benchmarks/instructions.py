"""Instructions per call, counted by valgrind's cachegrind: the same count run after run, whatever
else the machine is doing (wall time on a shared machine is not).

    python benchmarks/instructions.py            # 20 and 60 workload cycles per variant
    python benchmarks/instructions.py --quick    # 2 and 6 cycles: proves the script works

The workload is one cycle of create, update x2, reset, list and delete on one boto3 client. Each
variant runs it in a fresh interpreter under ``valgrind --tool=cachegrind --cache-sim=no`` (so
only instructions are counted), once with N1 and once with N2 cycles; what a cycle costs is the
difference over N2 - N1, so interpreter start-up, imports and client creation cancel out. The
clock is frozen at one second and the garbage collector is off inside the counted runs.

* floor: a bare ``before-call.iam`` handler returning a canned answer (botocore's own work);
* sscstub: ``mock_ssc`` answering every call;
* Stubber: botocore's Stubber, with one ``add_response`` per call inside the count.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from timing import Settings, Table, markdown

VARIANTS = ("floor", "sscstub", "Stubber")

# The workload, run in the counted interpreter: `python - VARIANT N`.
_WORKLOAD = r"""
import os, sys
for k, v in {"AWS_ACCESS_KEY_ID": "t", "AWS_SECRET_ACCESS_KEY": "t",
             "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}.items():
    os.environ[k] = v
import boto3
from botocore.awsrequest import AWSResponse
from botocore.stub import Stubber
import sscstub

variant, cycles = sys.argv[1], int(sys.argv[2])
# Under valgrind a cycle takes ~50x as long: with a running clock every call would see a new
# second (new timestamps, new cache entries), which a real run does not. One frozen second, and
# no collector pauses at varying points.
import gc, time
time.time = lambda: 1_767_225_600.0
gc.disable()
client = boto3.session.Session().client("iam", region_name="us-east-1")
U, S = "jane", "codecommit.amazonaws.com"

def cycle(pre=lambda op: None):
    pre("create_service_specific_credential")
    made = client.create_service_specific_credential(UserName=U, ServiceName=S)
    cid = made["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
    for status in ("Inactive", "Active"):
        pre("update_service_specific_credential")
        client.update_service_specific_credential(
            UserName=U, ServiceSpecificCredentialId=cid, Status=status)
    pre("reset_service_specific_credential")
    client.reset_service_specific_credential(UserName=U, ServiceSpecificCredentialId=cid)
    pre("list_service_specific_credentials")
    client.list_service_specific_credentials(UserName=U)
    pre("delete_service_specific_credential")
    client.delete_service_specific_credential(UserName=U, ServiceSpecificCredentialId=cid)

# Real answers, captured once through sscstub, feed the floor and the Stubber.
answers = {}
client.meta.events.register("after-call.iam", lambda parsed, model, **_: answers.__setitem__(
    model.name, {k: v for k, v in parsed.items() if k != "ResponseMetadata"}), unique_id="cap")
with sscstub.mock_ssc(users=[U], seed=1):
    cycle()
client.meta.events.unregister("after-call.iam", unique_id="cap")
methods = {"create_service_specific_credential": "CreateServiceSpecificCredential",
           "update_service_specific_credential": "UpdateServiceSpecificCredential",
           "reset_service_specific_credential": "ResetServiceSpecificCredential",
           "list_service_specific_credentials": "ListServiceSpecificCredentials",
           "delete_service_specific_credential": "DeleteServiceSpecificCredential"}

if variant == "floor":
    response = AWSResponse("https://iam.amazonaws.com/", 200, {}, None)
    canned = {op: {**body, "ResponseMetadata": {"RequestId": "r", "HTTPStatusCode": 200}}
              for op, body in answers.items()}
    client.meta.events.register_first(
        "before-call.iam", lambda model, **_: (response, canned[model.name]))
    run = lambda: cycle()
elif variant == "sscstub":
    stub = sscstub.mock_ssc(users=[U], seed=2).start()
    run = lambda: cycle()
else:
    stubber = Stubber(client)
    stubber.activate()
    run = lambda: cycle(lambda method: stubber.add_response(method, answers[methods[method]]))
run()  # first calls: lazy imports, compiled checks, caches
for _ in range(cycles):
    run()
"""


def count(variant: str, cycles: int, workdir: Path) -> int:
    return count_command([sys.executable, "-", variant, str(cycles)], _WORKLOAD)


def count_command(argv: list[str], stdin: str = "") -> int:
    """Instructions one run of ``argv`` executes, under cachegrind."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cachegrind.out"
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        # setarch -R: no address randomisation, so id()-based hashes, and so the count, repeat.
        norandom = ["setarch", os.uname().machine, "-R"] if shutil.which("setarch") else []
        subprocess.run(
            [*norandom, "valgrind", "--tool=cachegrind", "--cache-sim=no",
             f"--cachegrind-out-file={out}", *argv],
            input=stdin, text=True, env=env, check=True, capture_output=True, timeout=1800,
        )  # fmt: skip
        summary = re.search(r"^summary: (\d+)", out.read_text(), re.M)
        assert summary is not None, f"no summary in {out}"
        return int(summary[1])


def per_cycle(n1: int, n2: int, variants: tuple[str, ...] = VARIANTS) -> dict[str, float]:
    """Instructions per workload cycle of each variant (6 calls)."""
    with tempfile.TemporaryDirectory() as tmp:
        return {
            variant: (count(variant, n2, Path(tmp)) - count(variant, n1, Path(tmp))) / (n2 - n1)
            for variant in variants
        }


def report_instructions(s: Settings, with_moto: bool = False) -> Table:
    title = "instructions per cycle (valgrind)"
    columns = (
        "create, update x2, reset, list, delete",
        "instructions per cycle",
        "/ floor",
    )
    if shutil.which("valgrind") is None:
        print("instructions: SKIPPED: valgrind is not installed (apt-get install valgrind)")
        return Table(title, columns, [], {})
    n1, n2 = (2, 6) if s.quick else (20, 60)
    counts = per_cycle(n1, n2)
    floor = counts["floor"]
    rows = [(v, f"{value:,.0f}", f"{value / floor:.3f}x") for v, value in counts.items()]
    ratio = counts["sscstub"] / floor
    return Table(
        title,
        columns,
        rows,
        {"instructions": ratio, "instructions-stubber": counts["sscstub"] / counts["Stubber"]},
    )


def main() -> int:
    if "--only" in sys.argv:  # one variant, for a quick look at a change
        variant = sys.argv[sys.argv.index("--only") + 1]
        print(f"{variant}: {per_cycle(2, 6, (variant,))[variant]:,.0f} instructions per cycle")
        return 0
    table = report_instructions(Settings("--quick" in sys.argv))
    print(markdown(table.columns, table.rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
