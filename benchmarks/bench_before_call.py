"""The before-call front end (the default mode), in process: per call against a bare handler's
floor and botocore's Stubber, with moto's mock on and off, activation, scaling to a full store,
import cost, memory per credential and freezegun's overhead.

The scaling and memory sections switch between prepared stubs with `sscstub._benchmarking` (a
stub's ``start()`` begins from fresh state, which is what a test wants and not what a benchmark
of a full store needs).
"""

from __future__ import annotations

import gc
import statistics
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from botocore.stub import Stubber
from timing import (
    OTHER,
    SERVICE,
    USER,
    Settings,
    Table,
    canned,
    iam_client,
    interleaved,
    without_metadata,
)

import sscstub
from sscstub import DEFAULT_SERVICES
from sscstub import _benchmarking as internal


def ssc_workloads(client: Any) -> dict[str, Callable[[], object]]:
    """The four figures of the target, on one user with two credentials."""
    created = client.create_service_specific_credential(UserName=USER, ServiceName=SERVICE)
    client.create_service_specific_credential(UserName=USER, ServiceName=OTHER)
    cid = created["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
    status = ["Inactive"]

    def create_delete() -> None:
        new = client.create_service_specific_credential(UserName=USER, ServiceName=SERVICE)
        client.delete_service_specific_credential(
            UserName=USER,
            ServiceSpecificCredentialId=new["ServiceSpecificCredential"][
                "ServiceSpecificCredentialId"
            ],
        )

    def reset() -> None:
        client.reset_service_specific_credential(UserName=USER, ServiceSpecificCredentialId=cid)

    def update() -> None:
        status[0] = "Active" if status[0] == "Inactive" else "Inactive"
        client.update_service_specific_credential(
            UserName=USER, ServiceSpecificCredentialId=cid, Status=status[0]
        )

    def list_() -> None:
        client.list_service_specific_credentials(UserName=USER)

    return {"Create+Delete": create_delete, "Reset": reset, "Update": update, "List": list_}


def bench_calls(s: Settings) -> list[dict[str, Any]]:
    stub = sscstub.mock_ssc(users=[USER], seed=1)
    ssc_client = iam_client()
    stubbed_client = iam_client()
    stubber = Stubber(stubbed_client)
    with stub:
        workloads = ssc_workloads(ssc_client)
        # One real answer per operation, captured through botocore's after-call event.
        captured: dict[str, dict[str, Any]] = {}
        ssc_client.meta.events.register(
            "after-call.iam",
            lambda parsed, model, **_: captured.__setitem__(model.name, without_metadata(parsed)),
            unique_id="bench-capture",
        )
        for fn in workloads.values():
            fn()
        ssc_client.meta.events.unregister("after-call.iam", unique_id="bench-capture")
    floor_answers = {
        name: {**body, "ResponseMetadata": {"RequestId": "r", "HTTPStatusCode": 200}}
        for name, body in captured.items()
    }
    floor_client = canned(iam_client(), floor_answers)
    cid = captured["CreateServiceSpecificCredential"]["ServiceSpecificCredential"][
        "ServiceSpecificCredentialId"
    ]
    floor_work = same_calls(floor_client, cid)
    stubber_work = stubbed_calls(stubbed_client, stubber, captured, cid)
    stubber.activate()

    rows = []
    stub.start()
    workloads = ssc_workloads(ssc_client)
    for op in workloads:
        variants = {"floor": floor_work[op], "Stubber": stubber_work[op], "sscstub": workloads[op]}
        # sscstub is active only for its own batches: Stubber's handler runs after its dispatcher.
        medians = interleaved(
            variants, s.rounds, s.calls, lambda name: toggle(stub, name == "sscstub")
        )
        rows.append({"operation": op, **medians})
    toggle(stub, True)
    stub.stop()
    stubber.deactivate()
    return rows


def toggle(stub: sscstub.SSCStub, on: bool) -> None:
    if on:
        internal.switch_on(stub)
    else:
        internal.switch_off()


def same_calls(client: Any, cid: str) -> dict[str, Callable[[], object]]:
    """The workloads' calls with the same parameters, on another client."""

    def create_delete() -> None:
        client.create_service_specific_credential(UserName=USER, ServiceName=SERVICE)
        client.delete_service_specific_credential(UserName=USER, ServiceSpecificCredentialId=cid)

    return {
        "Create+Delete": create_delete,
        "Reset": lambda: client.reset_service_specific_credential(
            UserName=USER, ServiceSpecificCredentialId=cid
        ),
        "Update": lambda: client.update_service_specific_credential(
            UserName=USER, ServiceSpecificCredentialId=cid, Status="Inactive"
        ),
        "List": lambda: client.list_service_specific_credentials(UserName=USER),
    }


def stubbed_calls(
    client: Any, stubber: Stubber, captured: dict[str, dict[str, Any]], cid: str
) -> dict[str, Callable[[], object]]:
    """Each call preceded by ``add_response`` (a queued response per call, as Stubber needs)."""
    calls = same_calls(client, cid)
    method = {
        "CreateServiceSpecificCredential": "create_service_specific_credential",
        "DeleteServiceSpecificCredential": "delete_service_specific_credential",
        "ResetServiceSpecificCredential": "reset_service_specific_credential",
        "UpdateServiceSpecificCredential": "update_service_specific_credential",
        "ListServiceSpecificCredentials": "list_service_specific_credentials",
    }
    ops = {
        "Create+Delete": ["CreateServiceSpecificCredential", "DeleteServiceSpecificCredential"],
        "Reset": ["ResetServiceSpecificCredential"],
        "Update": ["UpdateServiceSpecificCredential"],
        "List": ["ListServiceSpecificCredentials"],
    }

    def queued(name: str) -> Callable[[], object]:
        call = calls[name]

        def run() -> None:
            for op in ops[name]:
                stubber.add_response(method[op], captured[op])
            call()

        return run

    return {name: queued(name) for name in calls}


def bench_moto(s: Settings) -> dict[str, float]:
    """moto on the closest IAM operations it has: create + delete access key, with its floor."""
    from moto import mock_aws

    with mock_aws():
        client = iam_client()
        client.create_user(UserName=USER)
        key = client.create_access_key(UserName=USER)["AccessKey"]
        client.delete_access_key(UserName=USER, AccessKeyId=key["AccessKeyId"])
        floor = canned(
            iam_client(),
            {
                "CreateAccessKey": {
                    "AccessKey": key,
                    "ResponseMetadata": {"RequestId": "r", "HTTPStatusCode": 200},
                },
                "DeleteAccessKey": {"ResponseMetadata": {"RequestId": "r", "HTTPStatusCode": 200}},
            },
        )

        def pair(c: Any) -> Callable[[], None]:
            def run() -> None:
                new = c.create_access_key(UserName=USER)["AccessKey"]
                c.delete_access_key(UserName=USER, AccessKeyId=new["AccessKeyId"])

            return run

        return interleaved(
            {"floor": pair(floor), "moto": pair(client)}, s.rounds, max(3, s.calls // 4)
        )


# --- 2. activation ------------------------------------------------------------------------------


def bench_activation(s: Settings) -> dict[str, float]:
    from moto import mock_aws

    from sscstub.plugin import active_stub

    client = iam_client()
    node = SimpleNamespace(iter_markers=lambda name: iter(()), nodeid="bench.py::test")
    marked = SimpleNamespace(
        iter_markers=lambda name: iter([SimpleNamespace(args=(), kwargs={"users": [USER]})]),
        nodeid="bench.py::test",
    )

    def with_mock_ssc() -> None:
        with sscstub.mock_ssc():
            pass

    def fixture(node: Any) -> Callable[[], None]:
        def run() -> None:
            gen = active_stub(node)
            next(gen)
            gen.close()

        return run

    def stubber() -> None:
        with Stubber(client):
            pass

    def moto() -> None:
        with mock_aws():
            pass

    fast = interleaved(
        {
            "with mock_ssc(): pass": with_mock_ssc,
            "ssc_stub fixture setup+teardown": fixture(node),
            "ssc_stub fixture with a marker": fixture(marked),
            "Stubber(client) enter+exit": stubber,
        },
        s.rounds,
        s.activations,
    )
    slow = interleaved({"moto mock_aws() enter+exit": moto}, s.rounds, max(3, s.activations // 50))
    return {**fast, **slow}


# --- 3. scaling ---------------------------------------------------------------------------------


def fill(stub: sscstub.SSCStub, count: int, keep_calls: bool = False) -> None:
    """``count`` credentials, two per service, for users u0, u1, ... (through the before-call
    path every client call takes, without botocore's client-side work)."""
    services = list(DEFAULT_SERVICES)
    per_user = 2 * len(services)
    for i in range((count + per_user - 1) // per_user):
        name = f"u{i}"
        stub.add_user(name)
        for service in services:
            for _ in range(2):
                if count <= 0:
                    break
                internal.create(stub, name, service)
                count -= 1
    if not keep_calls:
        internal.forget_calls(stub)


def bench_scaling(s: Settings) -> dict[str, Any]:
    stubs = {
        "1": sscstub.mock_ssc(users=[USER], seed=1),
        "big": sscstub.mock_ssc(users=[USER], seed=2),
        "1k": sscstub.mock_ssc(users=[USER], seed=3),
    }
    client = iam_client()
    workloads = {}
    for name, extra in (("1", 0), ("big", s.stored), ("1k", 1_000)):
        stubs[name].start()
        fill(stubs[name], extra)
        workloads[name] = ssc_workloads(client)
        internal.forget_calls(stubs[name])
        internal.switch_off()  # inactive with its state kept: `switch` picks one per batch

    def switch(name: str) -> None:
        internal.forget_calls(stubs[name])  # calls accumulate in the log; keep it from growing
        internal.switch_on(stubs[name])

    rows = []
    for op in workloads["1"]:
        t = interleaved(
            {"1": workloads["1"][op], "big": workloads["big"][op]}, s.rounds, s.calls, switch
        )
        rows.append((op, t["1"], t["big"]))

    def page() -> object:
        return client.list_service_specific_credentials(AllUsers=True, MaxItems=100)

    pages = interleaved({"1k": page, "big": page}, s.rounds, max(3, s.calls // 4), switch)
    internal.switch_off()
    return {"rows": rows, "page": pages}


# --- 4. import ----------------------------------------------------------------------------------


def import_ms(module: str, clients: int = 0) -> float:
    """``import module`` in a fresh interpreter that has imported botocore and, with
    ``clients``, made that many IAM clients first (sscstub then finds and reaches them)."""
    make = (
        "import boto3\n"
        f"c = [boto3.client('iam', region_name='us-east-1') for _ in range({clients})]\n"
        if clients
        else ""
    )
    code = (
        f"import time, botocore\n{make}"
        f"t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    )
    if clients:  # what the first activation costs: it finds and reaches the clients made before
        code = (
            f"import time, botocore\n{make}import {module}\n"
            f"t = time.perf_counter(); {module}.mock_ssc().start().stop()\n"
            "print(time.perf_counter() - t)"
        )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return float(out) * 1000


def bench_import(s: Settings, with_moto: bool) -> dict[str, float]:
    modules = ["sscstub"] + (["moto", "moto.iam"] if with_moto else [])
    samples: dict[str, list[float]] = {m: [] for m in modules}
    for _ in range(s.imports):
        for m in modules:
            samples[m].append(import_ms(m))
    return {m: statistics.median(v) for m, v in samples.items()}


_FIRST_CALL = """
import sys, time, boto3, sscstub
from botocore.awsrequest import AWSResponse
c = boto3.client("iam", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
canned = (AWSResponse("u", 200, {}, None), {"ServiceSpecificCredentials": [], "IsTruncated": False})
if sys.argv[1] == "floor":
    c.meta.events.register_first("before-call.iam", lambda **_: canned)
with sscstub.mock_ssc(users=["jane"]):
    t = []
    for _ in range(2):
        s = time.perf_counter()
        c.list_service_specific_credentials(UserName="jane")
        t.append(time.perf_counter() - s)
print(t[0] - t[1])
"""


def first_call_ms(s: Settings) -> float:
    """What sscstub adds to a process's first IAM call (it loads and compiles botocore's IAM
    model then): first-minus-second call, sscstub less the floor, in fresh interpreters."""

    def run(variant: str) -> float:
        out = subprocess.run(
            [sys.executable, "-c", _FIRST_CALL, variant], capture_output=True, text=True, check=True
        )
        return float(out.stdout) * 1000

    samples = {"floor": [], "sscstub": []}  # type: dict[str, list[float]]
    for _ in range(s.imports):
        for variant in samples:
            samples[variant].append(run(variant))
    return statistics.median(samples["sscstub"]) - statistics.median(samples["floor"])


# --- 5. memory ----------------------------------------------------------------------------------


def bench_memory(s: Settings) -> dict[str, float]:
    count = 1_000 if s.quick else 20_000
    stub = sscstub.mock_ssc(users=[USER], seed=4)
    stub.start()
    try:
        fill(stub, 10)  # first-use allocations (model, caches) happen here, not in the figure
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        fill(stub, count, keep_calls=True)
        gc.collect()
        with_calls = tracemalloc.get_traced_memory()[0]
        internal.forget_calls(stub)
        gc.collect()
        store_only = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
    finally:
        stub.stop()
    return {
        "count": count,
        "store": (store_only - before) / count,
        "with_calls": (with_calls - before) / count,
    }


# --- 6. freezegun -------------------------------------------------------------------------------


def bench_freezegun(s: Settings) -> dict[str, float]:
    import freezegun

    stub = sscstub.mock_ssc(users=[USER], seed=5)
    client = iam_client()
    with stub:
        workloads = ssc_workloads(client)
        plain = interleaved(workloads, s.rounds, s.calls)
        with freezegun.freeze_time("2026-11-22 12:00:00"):
            frozen = interleaved(workloads, s.rounds, s.calls)
    return {op: frozen[op] / plain[op] for op in workloads}


def report_calls(s: Settings, with_moto: bool) -> Table:
    rows = bench_calls(s)
    moto = bench_moto(s) if with_moto else None
    out, ratios, stubber_ratios = [], [], []
    for r in rows:
        ratio, sratio = r["sscstub"] / r["floor"], r["Stubber"] / r["floor"]
        ratios.append(ratio)
        stubber_ratios.append(sratio)
        out.append(
            (r["operation"], f"{r['floor']:.0f}", f"{r['sscstub']:.0f}", f"{ratio:.2f}x")
            + (f"{r['Stubber']:.0f}", f"{sratio:.2f}x")
        )
    median = statistics.median(ratios)
    out.append(
        ("**median of the four**", "", "", f"**{median:.2f}x**", "")
        + (f"{statistics.median(stubber_ratios):.2f}x",)
    )
    if moto:
        ratio = moto["moto"] / moto["floor"]
        out.append(
            ("moto, create+delete access key", f"{moto['floor']:.0f}", "", "")
            + (f"{moto['moto']:.0f}", f"{ratio:.1f}x (moto)")
        )
    columns = ("served call", "floor µs", "sscstub µs", "ratio", "Stubber µs", "ratio")
    return Table("per call", columns, out, {"per-call": median})


def report_moto(s: Settings, with_moto: bool) -> Table:
    """A served call with moto's mock_aws on against off: sscstub answers before moto's work."""
    if not with_moto:
        return Table("moto", ("served call", "moto off µs", "moto on µs", "ratio"), [], {})
    from moto import mock_aws

    mock = mock_aws()
    stub = sscstub.mock_ssc(users=[USER], seed=3)
    client = iam_client()
    rows, ratios = [], []
    with stub:
        workloads = ssc_workloads(client)

        on = [False]

        def switch(name: str) -> None:
            want = name == "moto on"
            if want and not on[0]:
                mock.start(reset=False)
            elif on[0] and not want:
                mock.stop(remove_data=False)
            on[0] = want

        for op, fn in workloads.items():
            medians = interleaved({"moto off": fn, "moto on": fn}, s.rounds, s.calls, switch)
            switch("moto off")
            ratio = medians["moto on"] / medians["moto off"]
            ratios.append(ratio)
            rows.append(
                (op, f"{medians['moto off']:.0f}", f"{medians['moto on']:.0f}", f"{ratio:.2f}x")
            )
    median = statistics.median(ratios)
    rows.append(("**median**", "", "", f"**{median:.2f}x**"))
    return Table(
        "moto", ("served call", "moto off µs", "moto on µs", "ratio"), rows, {"moto": median}
    )


def report_activation(s: Settings, with_moto: bool) -> Table:
    act = bench_activation(s)
    stubber = act["Stubber(client) enter+exit"]
    rows = [
        (name, f"{us:.1f}", f"{us / stubber:.2f}x")
        for name, us in act.items()
        if with_moto or not name.startswith("moto")
    ]
    return Table("activation (enter+exit)", ("activation", "µs", "/ Stubber"), rows, {})


def report_scaling(s: Settings, with_moto: bool) -> Table:
    scaling = bench_scaling(s)
    rows = [
        (op, f"{one:.0f}", f"{big:.0f}", f"{big / one:.2f}x") for op, one, big in scaling["rows"]
    ]
    page = scaling["page"]
    rows.append(
        ("List AllUsers, one page of 100", f"{page['1k']:.0f} (1,000 stored)")
        + (f"{page['big']:.0f}", f"{page['big'] / page['1k']:.2f}x")
    )
    worst = max(big / one for _, one, big in scaling["rows"])
    columns = ("µs per call", "1 credential", f"{s.stored:,} credentials", "ratio")
    return Table("scaling", columns, rows, {"scaling": worst})


def report_import(s: Settings, with_moto: bool) -> Table:
    imports = bench_import(s, with_moto=with_moto)
    rows = [(f"import {m}", f"{ms:.1f}") for m, ms in imports.items()]
    early = statistics.median(import_ms("sscstub", clients=50) for _ in range(s.imports))
    rows.append(
        ("first activation, 50 IAM clients made before import (it finds them)", f"{early:.1f}")
    )
    rows.append(("sscstub's extra on a process's first IAM call", f"{first_call_ms(s):.1f}"))
    columns = ("import on top of botocore", "ms (median of fresh interpreters)")
    return Table("import", columns, rows, {"import": imports["sscstub"]})


def report_memory(s: Settings, with_moto: bool) -> Table:
    mem = bench_memory(s)
    rows = [
        ("credential in the store", f"{mem['store']:.0f}"),
        ("credential plus its entry in `calls`", f"{mem['with_calls']:.0f}"),
    ]
    columns = (f"memory per stored credential ({mem['count']:,}, tracemalloc)", "bytes")
    return Table("memory", columns, rows, {"memory": mem["store"]})


def report_freezegun(s: Settings, with_moto: bool) -> Table:
    fg = bench_freezegun(s)
    rows = [(op, f"{ratio:.2f}x") for op, ratio in fg.items()]
    median = statistics.median(fg.values())
    rows.append(("**median**", f"**{median:.2f}x**"))
    return Table("freezegun", ("freezegun active / inactive", "ratio"), rows, {"freezegun": median})
