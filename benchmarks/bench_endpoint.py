"""The local endpoint's benchmark: sscstub serve against moto's server and a zero-work endpoint.

    python benchmarks/bench_endpoint.py            # the full run behind docs/performance.md
    python benchmarks/bench_endpoint.py --quick    # short runs: proves the script works

Each server runs in its own process, and the same load generators hit each in turn: boto3
clients (what users run: signing, serialising and parsing dominate) and a lean keep-alive HTTP
client (pre-encoded requests, which shows the server's own cost). A load is Create+Delete pairs
(moto lacks these operations: it gets CreateAccessKey/DeleteAccessKey, its closest), from 1 or 8
client processes. The zero-work endpoint is an ASGI application answering fixed bytes on the same
uvicorn, loop and settings as sscstub serve: the ceiling the load generator can reach there. Figures are medians over rounds that take turns; every
ratio divides by a figure measured in the same run. Nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import http.client
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from typing import Any

from targets import ENDPOINT_TARGETS, verdicts

CREDS = "AWS4-HMAC-SHA256 Credential=t/20261125/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0"
CC = "codecommit.amazonaws.com"

ZERO_WORK = r"""
import sys, uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
CREATE = open(sys.argv[2], "rb").read()
DELETE = (b'<DeleteServiceSpecificCredentialResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">'
          b'<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DeleteServiceSpecificCredentialResponse>')
async def app(scope, receive, send):
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    answer = DELETE if b"Delete" in body else CREATE
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"x-amzn-requestid", b"r"), (b"content-type", b"text/xml"), (b"content-length", str(len(answer)).encode())]})
    await send({"type": "http.response.body", "body": answer})
# the same uvicorn, loop and settings as sscstub serve's, and a protocol that does nothing more
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), http=HttpToolsProtocol, ws="none",
            lifespan="off", log_config=None, access_log=False, server_header=False,
            date_header=False, timeout_keep_alive=5, timeout_graceful_shutdown=1)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(port: int, deadline: float = 30.0) -> float:
    """Seconds until the port answers an HTTP request."""
    start = time.perf_counter()
    while time.perf_counter() - start < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request(
                "GET",
                "/?Action=ListServiceSpecificCredentials&UserName=u0",
                headers={"Authorization": CREDS},
            )
            conn.getresponse().read()
            conn.close()
            return time.perf_counter() - start
        except OSError:
            time.sleep(0.005)
    raise RuntimeError(f"nothing answered on port {port}")


def start(kind: str, tmp: str, state: bool = False) -> tuple[subprocess.Popen[bytes], int, float]:
    port = free_port()
    users = ",".join(f"u{i}" for i in range(8))
    if kind == "sscstub":
        argv = [sys.executable, "-m", "sscstub", "serve", "--port", str(port), "--users", users]
        if state:
            argv += ["--state", os.path.join(tmp, f"state-{port}.db")]
    elif kind == "moto":
        argv = [sys.executable, "-m", "moto.server", "-p", str(port)]
    else:
        argv = [sys.executable, "-c", ZERO_WORK, str(port), os.path.join(tmp, "create.xml")]
    began = time.perf_counter()
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(port)
    startup = time.perf_counter() - began
    if kind == "moto":  # moto needs the users the access keys belong to
        client = boto3_client(port)
        for i in range(8):
            client.create_user(UserName=f"u{i}")
    return process, port, startup


def boto3_client(port: int) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "iam",
        region_name="us-east-1",
        endpoint_url=f"http://127.0.0.1:{port}",
        aws_access_key_id="t",
        aws_secret_access_key="t",
        config=Config(retries={"total_max_attempts": 1}),
    )


def _worker(args: tuple[str, str, int, int, float]) -> tuple[int, list[float]]:
    kind, client_kind, port, index, seconds = args
    user = f"u{index}"
    latencies: list[float] = []
    if client_kind == "boto3":
        iam = boto3_client(port)
        deadline = time.perf_counter() + seconds
        warm = True  # the first pair (the client's lazy loading) is not timed
        while warm or time.perf_counter() < deadline:
            t0 = time.perf_counter()
            if kind == "moto":
                key = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
                t1 = time.perf_counter()
                iam.delete_access_key(UserName=user, AccessKeyId=key)
            else:
                made = iam.create_service_specific_credential(UserName=user, ServiceName=CC)
                cid = made["ServiceSpecificCredential"]["ServiceSpecificCredentialId"]
                t1 = time.perf_counter()
                iam.delete_service_specific_credential(
                    UserName=user, ServiceSpecificCredentialId=cid
                )
            t2 = time.perf_counter()
            if warm:
                warm, deadline = False, time.perf_counter() + seconds
                continue
            latencies += [t1 - t0, t2 - t1]
        return len(latencies), latencies
    deadline = time.perf_counter() + seconds
    conn = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Authorization": CREDS}
    if kind == "moto":
        create = f"Action=CreateAccessKey&Version=2010-05-08&UserName={user}".encode()
        delete = f"Action=DeleteAccessKey&Version=2010-05-08&UserName={user}&AccessKeyId=".encode()
        marker = b"<AccessKeyId>"
    else:
        create = f"Action=CreateServiceSpecificCredential&Version=2010-05-08&UserName={user}&ServiceName={CC}".encode()
        delete = f"Action=DeleteServiceSpecificCredential&Version=2010-05-08&UserName={user}&ServiceSpecificCredentialId=".encode()
        marker = b"<ServiceSpecificCredentialId>"
    while time.perf_counter() < deadline:
        t0 = time.perf_counter()
        conn.request("POST", "/", body=create, headers=headers)
        data = conn.getresponse().read()
        ident = data.split(marker)[1].split(b"<")[0]
        t1 = time.perf_counter()
        conn.request("POST", "/", body=delete + ident, headers=headers)
        conn.getresponse().read()
        t2 = time.perf_counter()
        latencies += [t1 - t0, t2 - t1]
    return len(latencies), latencies


def load(
    pool: Any, kind: str, client_kind: str, port: int, clients: int, seconds: float
) -> tuple[float, float]:
    """Requests per second and p99 latency (ms) for ``clients`` processes over ``seconds``."""
    results = pool.map(_worker, [(kind, client_kind, port, i, seconds) for i in range(clients)])
    total = sum(n for n, _ in results)
    latencies = sorted(x for _, lat in results for x in lat)
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else float("nan")
    return total / seconds, p99


ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLIS = {
    "cli-plugin-v2": "/usr/bin/aws",
    "cli-plugin-v1": os.path.join(ROOT, ".venv-awscli1", "bin", "aws"),
}


def cli_ratios(tmp: str, rounds: int) -> dict[str, tuple[float, float]]:
    """Median wall time (ms) of one ``aws iam list-service-specific-credentials`` through the
    plugin (with SSCSTUB_STATE), and of the same command with ``--generate-cli-skeleton`` (the
    CLI starts and loads the IAM model, but makes no call), taking turns."""
    out = {}
    for key, aws in CLIS.items():
        if not os.path.exists(aws):
            print(f"{key}: {aws} is missing (make clients): not measured")
            continue
        config = os.path.join(tmp, f"{key}.config")
        legacy = f"cli_legacy_plugin_path = {ROOT}\n" if key.endswith("v2") else ""
        with open(config, "w") as f:
            f.write(f"[plugins]\n{legacy}sscstub = sscstub.awscli\n")
        env = {
            "PATH": os.environ["PATH"],
            "HOME": tmp,
            "AWS_ACCESS_KEY_ID": "t",
            "AWS_SECRET_ACCESS_KEY": "t",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_PAGER": "",
            "AWS_EC2_METADATA_DISABLED": "true",
            "SSCSTUB_USERS": "jane",
            "SSCSTUB_STATE": os.path.join(tmp, f"{key}.db"),
        }
        command = [aws, "iam", "list-service-specific-credentials", "--user-name", "jane"]
        times: dict[str, list[float]] = {"plugin": [], "skeleton": []}
        for _ in range(rounds):
            for variant in ("plugin", "skeleton"):
                argv = command + (["--generate-cli-skeleton"] if variant == "skeleton" else [])
                run_env = {
                    **env,
                    "AWS_CONFIG_FILE": config if variant == "plugin" else os.path.join(tmp, "none"),
                }
                t0 = time.perf_counter()
                subprocess.run(argv, env=run_env, check=True, stdout=subprocess.DEVNULL)
                times[variant].append((time.perf_counter() - t0) * 1000)
        out[key] = (statistics.median(times["plugin"]), statistics.median(times["skeleton"]))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs: prove the script works")
    args = parser.parse_args()
    seconds, rounds = (0.5, 1) if args.quick else (3.0, 3)
    started = time.perf_counter()
    import tempfile

    tmp = tempfile.mkdtemp(prefix="sscstub-bench-")
    # The zero-work endpoint answers with a real Create answer, captured from sscstub.
    capture, port, _ = start("sscstub", tmp)
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.request(
        "POST",
        "/",
        body=f"Action=CreateServiceSpecificCredential&UserName=u0&ServiceName={CC}".encode(),
    )
    with open(os.path.join(tmp, "create.xml"), "wb") as out:
        out.write(conn.getresponse().read())
    capture.send_signal(signal.SIGTERM)
    capture.wait()

    import server_cost

    costs: list[float] = []
    kinds = ["zero-work", "sscstub", "moto"]
    loads = [("lean", 1), ("lean", 8), ("boto3", 1), ("boto3", 8)]
    rps: dict[tuple[str, str, int], list[float]] = {}
    p99: dict[tuple[str, str, int], list[float]] = {}
    startup: dict[str, list[float]] = {k: [] for k in [*kinds, "sscstub --state"]}
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(8) as pool:
        for _ in range(rounds):
            costs.append(server_cost.measure(300 if args.quick else 3000)[0])  # in turn too
            for kind in [*kinds, "sscstub --state"]:
                base = kind.split()[0]
                process, port, up = start(base, tmp, state=kind.endswith("--state"))
                startup[kind].append(up * 1000)
                try:
                    for client_kind, clients in loads:
                        if kind.endswith("--state") and client_kind != "lean":
                            continue
                        r, p = load(pool, base, client_kind, port, clients, seconds)
                        rps.setdefault((kind, client_kind, clients), []).append(r)
                        p99.setdefault((kind, client_kind, clients), []).append(p)
                finally:
                    process.send_signal(signal.SIGTERM)
                    process.wait(20)

    def med(table: dict[Any, list[float]], key: Any) -> float:
        return statistics.median(table[key])

    print(
        f"sscstub endpoint benchmark{' (--quick)' if args.quick else ''}: {rounds} rounds of {seconds} s per load"
    )
    print(
        "\n| load | zero-work req/s | sscstub req/s | / zero-work | moto req/s | sscstub / moto | p99 ms zero-work / sscstub / moto |"
    )
    print("|---|---:|---:|---:|---:|---:|---|")
    for client_kind, clients in loads:
        z, s, m = (med(rps, (k, client_kind, clients)) for k in kinds)
        pz, ps, pm = (med(p99, (k, client_kind, clients)) for k in kinds)
        print(
            f"| {client_kind}, {clients} client(s) | {z:.0f} | {s:.0f} | {s / z:.2f}x | {m:.0f} | {s / m:.1f}x | {pz:.1f} / {ps:.1f} / {pm:.1f} |"
        )
    state_ratio = med(rps, ("sscstub --state", "lean", 8)) / med(rps, ("sscstub", "lean", 8))
    print(
        f"| lean, 8 clients, `--state` on | | {med(rps, ('sscstub --state', 'lean', 8)):.0f} | {state_ratio:.2f}x of `--state` off | | | |"
    )
    print("\n| start to first answered request | ms (median) |")
    print("|---|---:|")
    for kind, values in startup.items():
        print(f"| {kind} | {statistics.median(values):.0f} |")

    cost, parts = server_cost.measure(300 if args.quick else 3000)
    costs.append(cost)
    counted = server_cost.instructions(20, 60) if args.quick else server_cost.instructions()
    print(
        f"\nThe server's own work per IAM request, in process: {min(costs):.1f} µs, the least of"
        f" {len(costs)} rounds' medians (they ranged to {max(costs):.1f} µs: other machines'"
        " work on this one only ever adds)"
        + (
            f"; {counted[0] - counted[1]:,.0f} instructions (cachegrind: {counted[0]:,.0f} through"
            f" the app, {counted[1]:,.0f} through an app doing nothing in the same harness)"
            if counted
            else "; instructions not counted (no valgrind)"
        )
        + ". Where one request's time goes (the last round):"
    )
    print("\n| part | µs |\n|---|---:|")
    for name, value in parts:
        print(f"| {name} | {value:.1f} |")
    print(f"| the ASGI plumbing, routing and the rest | {cost - sum(v for _, v in parts):.1f} |")

    cli = cli_ratios(tmp, 2 if args.quick else 7)
    if cli:
        print(
            "\n| AWS CLI invocation | through the plugin ms | --generate-cli-skeleton ms | ratio |"
        )
        print("|---|---:|---:|---:|")
        for key, (plugin, skeleton) in cli.items():
            print(f"| {key} | {plugin:.0f} | {skeleton:.0f} | {plugin / skeleton:.2f}x |")
    measured = {key: plugin / skeleton for key, (plugin, skeleton) in cli.items()}
    measured |= {
        "endpoint-lean-8": med(rps, ("sscstub", "lean", 8)) / med(rps, ("zero-work", "lean", 8)),
        "endpoint-server-cost": min(costs),
        "endpoint-vs-moto": med(rps, ("sscstub", "lean", 8)) / med(rps, ("moto", "lean", 8)),
        "endpoint-boto3-1": med(rps, ("sscstub", "boto3", 1)) / med(rps, ("zero-work", "boto3", 1)),
        "endpoint-boto3-8": med(rps, ("sscstub", "boto3", 8)) / med(rps, ("zero-work", "boto3", 8)),
        "endpoint-p99": med(p99, ("sscstub", "boto3", 8)) / med(p99, ("zero-work", "boto3", 8)),
        "endpoint-startup": statistics.median(startup["sscstub"])
        / statistics.median(startup["zero-work"]),
        "endpoint-state": state_ratio,
    }
    print("\n" + verdicts(ENDPOINT_TARGETS, measured))
    print(f"\nran in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
