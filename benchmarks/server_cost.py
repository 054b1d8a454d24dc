"""The endpoint's own cost per IAM request, measured in process: the ASGI application of a real
`Server` (guard, route, the form, the engine, IAM's XML, the messages to the server) called as
uvicorn calls it, with no socket; and where one request's time goes, part by part."""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

CREDS = b"AWS4-HMAC-SHA256 Credential=t/20261125/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0"
CREATE = b"Action=CreateServiceSpecificCredential&Version=2010-05-08&UserName=u0&ServiceName=codecommit.amazonaws.com"
DELETE = b"Action=DeleteServiceSpecificCredential&Version=2010-05-08&UserName=u0&ServiceSpecificCredentialId="


def scope(body: bytes) -> dict[str, Any]:
    """What uvicorn (and sscstub's protocol) hands the app for a small POST that arrived whole."""
    return {
        "type": "http", "method": "POST", "path": "/", "raw_path": b"/", "query_string": b"",
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 4599), "sscstub.complete": True,
        "headers": [(b"host", b"127.0.0.1:4599"), (b"content-type", b"application/x-www-form-urlencoded"),
                    (b"authorization", CREDS), (b"content-length", str(len(body)).encode())],
    }  # fmt: skip


async def _pair(app: Any) -> tuple[float, float]:
    """One Create and one Delete through the app: seconds each."""
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive_create() -> dict[str, Any]:
        return {"type": "http.request", "body": CREATE, "more_body": False}

    head = scope(CREATE)  # uvicorn's work, not timed
    started = time.perf_counter()
    await app(head, receive_create, send)
    created = time.perf_counter() - started
    delete = DELETE + sent[1]["body"].split(b"<ServiceSpecificCredentialId>")[1].split(b"<")[0]

    async def receive_delete() -> dict[str, Any]:
        return {"type": "http.request", "body": delete, "more_body": False}

    head = scope(delete)
    started = time.perf_counter()
    await app(head, receive_delete, send)
    return created, time.perf_counter() - started


def _median_us(run: Callable[[], float], count: int) -> float:
    return statistics.median(run() for _ in range(count)) * 1e6


def measure(count: int) -> tuple[float, list[tuple[str, float]]]:
    """Median µs per request (a Create and a Delete, the mean of the two), and the parts."""
    from sscstub._model import iam
    from sscstub._options import Options
    from sscstub._query import encode, read_query, utc_stamp
    from sscstub._routes import Incoming
    from sscstub._server import Server
    from sscstub._settings import Settings

    server = Server(Options(users=("u0",)), Settings())
    loop = asyncio.new_event_loop()
    try:
        app = server._app
        for _ in range(200):  # warm: the model compiled, the caches full
            loop.run_until_complete(_pair(app))
        per_request = (
            statistics.median(sum(loop.run_until_complete(_pair(app))) / 2 for _ in range(count))
            * 1e6
        )
        engine, model = server._engine, iam(None)
        form = CREATE.decode()

        def engine_only() -> float:
            params = read_query(form)
            started = time.perf_counter()
            answer = engine.handle("CreateServiceSpecificCredential", params, model, utc_stamp)
            took = time.perf_counter() - started
            assert answer is not None and answer.result is not None
            credential_id = answer.result["ServiceSpecificCredential"][
                "ServiceSpecificCredentialId"
            ]
            params = read_query(DELETE.decode() + credential_id)
            started = time.perf_counter()
            engine.handle("DeleteServiceSpecificCredential", params, model, utc_stamp)
            return (took + time.perf_counter() - started) / 2

        def xml_only() -> float:
            answer = engine.handle(
                "CreateServiceSpecificCredential", read_query(form), model, utc_stamp
            )
            assert answer is not None and answer.result is not None
            writer = model.writer(answer.operation)
            started = time.perf_counter()
            encode(answer, writer)
            took = time.perf_counter() - started
            credential_id = answer.result["ServiceSpecificCredential"][
                "ServiceSpecificCredentialId"
            ]
            engine.handle(
                "DeleteServiceSpecificCredential",
                read_query(DELETE.decode() + credential_id),
                model,
                utc_stamp,
            )
            return took

        def timed(call: Callable[[], Any]) -> Callable[[], float]:
            def run() -> float:
                started = time.perf_counter()
                call()
                return time.perf_counter() - started

            return run

        incoming = Incoming(scope(CREATE), None, 5.0)  # type: ignore[arg-type]
        parts = [
            (
                "the request's head read (`Incoming`)",
                _median_us(timed(lambda: Incoming(scope(CREATE), None, 5.0)), count),
            ),  # type: ignore[arg-type]
            (
                "the guard (Host, Origin, Sec-Fetch-Site)",
                _median_us(timed(lambda: app.guard.refuse(incoming.headers)), count),
            ),
            ("the form (`read_query`)", _median_us(timed(lambda: read_query(form)), count)),
            (
                "the engine (validation, the operation, the model check, the log)",
                _median_us(engine_only, count),
            ),
            ("IAM's XML and headers (`encode`)", _median_us(xml_only, count)),
        ]
        return per_request, parts
    finally:
        loop.close()
        server.stop()


async def _nothing(scope: Any, receive: Any, send: Any) -> None:
    """The baseline of `instructions`: an ASGI app that reads the body and answers fixed bytes."""
    await receive()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"<ServiceSpecificCredentialId>x<"})


def _run(app_kind: str, pairs: int, moto: bool = False) -> None:
    """What `instructions` counts: ``pairs`` pairs through one app, after a warm-up (with
    ``moto``, a server whose users are moto's: bench_compose.py counts both)."""
    import gc

    time.time = lambda: 1_767_225_600.0  # one frozen second: see instructions.py
    from sscstub._options import Options
    from sscstub._server import Server
    from sscstub._settings import Settings

    server = Server(Options(users=("u0",), moto=moto), Settings())
    app = server._app if app_kind == "sscstub" else _nothing
    loop = asyncio.new_event_loop()
    for _ in range(200):
        loop.run_until_complete(_pair(app))
    gc.disable()

    async def run() -> None:
        for _ in range(pairs):
            await _pair(app)

    loop.run_until_complete(run())
    server.stop()


def instructions(n1: int = 200, n2: int = 600) -> tuple[float, float] | None:
    """Instructions per request through sscstub's app and through an app that does nothing
    (the harness's own share), counted by cachegrind as instructions.py does; None without
    valgrind."""
    import shutil

    if shutil.which("valgrind") is None:
        return None
    from instructions import count_command

    here = os.path.dirname(os.path.abspath(__file__))
    counts = {}
    for kind in ("sscstub", "nothing"):
        runs = [
            count_command([sys.executable, "-c", f"import sys; sys.path.insert(0, {here!r});"
                           f" import server_cost; server_cost._run({kind!r}, {n})"])
            for n in (n1, n2)
        ]  # fmt: skip
        counts[kind] = (runs[1] - runs[0]) / (2 * (n2 - n1))
    return counts["sscstub"], counts["nothing"]


if __name__ == "__main__":
    total, parts = measure(3000)
    print(f"{total:.1f} µs per request")
    for name, value in parts:
        print(f"  {name}: {value:.1f} µs")
    counted = instructions()
    if counted is not None:
        print(
            f"{counted[0]:,.0f} instructions per request ({counted[1]:,.0f} with an app doing nothing)"
        )
