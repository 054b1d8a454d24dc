"""The before-send front end (``wire=True``): per call against a bare before-send handler that
returns canned XML (botocore's own work, signing and parsing included)."""

from __future__ import annotations

import statistics
from typing import Any

from bench_before_call import same_calls, ssc_workloads, toggle
from timing import USER, Settings, Table, iam_client, interleaved

import sscstub


def wire_floor(client: Any, bodies: dict[str, tuple[int, dict[str, str], bytes]]) -> Any:
    """``client`` with a bare ``before-send.iam`` handler per operation returning canned XML:
    botocore's own work including signing and parsing, which no wire-level stub goes below."""
    from botocore.awsrequest import AWSResponse

    def wire_response(url: str, status: int, headers: dict[str, str], data: bytes) -> Any:
        response = AWSResponse(url, status, headers, None)  # type: ignore[arg-type]
        response._content = data  # type: ignore[attr-defined]  # what .content returns
        return response

    for op, (status, headers, data) in bodies.items():

        def answer(request: Any, _a: Any = (status, headers, data), **_: Any) -> Any:
            return wire_response(request.url, _a[0], _a[1], _a[2])

        client.meta.events.register_first(f"before-send.iam.{op}", answer)
    return client


def bench_wire(s: Settings) -> list[dict[str, Any]]:
    stub = sscstub.mock_ssc(users=[USER], seed=1, wire=True)
    client = iam_client()
    captured: dict[str, tuple[int, dict[str, str], bytes]] = {}

    def capture(http_response: Any, model: Any, **_: Any) -> None:
        captured[model.name] = (200, dict(http_response.headers), http_response.content)

    with stub:
        client.meta.events.register("after-call.iam", capture, unique_id="bench-capture")
        for fn in ssc_workloads(client).values():
            fn()
        client.meta.events.unregister("after-call.iam", unique_id="bench-capture")
    created = captured["CreateServiceSpecificCredential"][2].decode()
    cid = created.split("<ServiceSpecificCredentialId>")[1].split("<")[0]
    floor_work = same_calls(wire_floor(iam_client(), captured), cid)
    rows = []
    stub.start()
    workloads = ssc_workloads(client)
    for op in workloads:
        variants = {"floor": floor_work[op], "sscstub": workloads[op]}
        medians = interleaved(
            variants, s.rounds, s.calls, lambda name: toggle(stub, name == "sscstub")
        )
        rows.append({"operation": op, **medians})
    toggle(stub, True)
    stub.stop()
    return rows


def report_wire(s: Settings, with_moto: bool) -> Table:
    out, ratios = [], []
    for r in bench_wire(s):
        ratio = r["sscstub"] / r["floor"]
        ratios.append(ratio)
        out.append((r["operation"], f"{r['floor']:.0f}", f"{r['sscstub']:.0f}", f"{ratio:.2f}x"))
    median = statistics.median(ratios)
    out.append(("**median of the four**", "", "", f"**{median:.2f}x**"))
    columns = ("wire mode, served call", "before-send floor µs", "sscstub µs", "ratio")
    return Table("wire", columns, out, {"wire": median})
