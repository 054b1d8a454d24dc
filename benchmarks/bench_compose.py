"""The endpoint in front of the rest of AWS: what ``--moto`` and ``--upstream`` cost.

    python benchmarks/bench_compose.py            # the full run behind docs/performance.md
    python benchmarks/bench_compose.py --quick    # short runs: proves the script works

Two ratios of time per call, each against a baseline measured in the same run, the variants
taking turns round by round (medians over rounds), one lean keep-alive ``http.client`` with
pre-encoded, SigV4-shaped requests (the server's own cost, not the client's):

* compose-moto: Create+Delete pairs of service-specific credentials (sscstub's operations)
  through ``sscstub serve --moto``, against plain ``sscstub serve``;
* compose-relay: CreateAccessKey+DeleteAccessKey pairs (moto's operations) through ``sscstub
  serve --upstream`` in front of a ``moto_server`` process, against that ``moto_server``
  directly, from a boto3 client (what users run); the same from the lean client is printed
  too (the relay's own cost, undiluted).

Each server runs in its own process. Nothing here asserts a time. On a shared machine the wall
times of compose-moto move by more than the difference they measure, so its target is checked
on instructions instead (``valgrind --tool=cachegrind``, as ``instructions.py`` counts): what the
endpoint does per request (routing, composition, the engine, the bytes), called in one
interpreter through the server's front end for 20 and then 60 pairs, the difference divided;
the HTTP layer under it is the same code either way.
"""

from __future__ import annotations

import argparse
import http.client
import signal
import statistics
import subprocess
import sys
import time

from bench_endpoint import free_port, wait_ready
from targets import COMPOSE_TARGETS, verdicts

CC = "codecommit.amazonaws.com"
AUTH = (
    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261202/us-east-1/iam/aws4_request,"
    " SignedHeaders=host;x-amz-date, Signature=0"
)
HEADERS = {"Content-Type": "application/x-www-form-urlencoded", "Authorization": AUTH}


def start(*argv: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    if argv[0] == "moto":
        command = [sys.executable, "-m", "moto.server", "-p", str(port)]
    else:
        command = [sys.executable, "-m", "sscstub", "serve", "--port", str(port), *argv]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(port, 60)
    return process, port


def call(conn: http.client.HTTPConnection, body: str) -> bytes:
    conn.request("POST", "/", body=body.encode(), headers=HEADERS)
    response = conn.getresponse()
    data = response.read()
    assert response.status == 200, data[:300]
    return data


def per_call(port: int, kind: str, seconds: float) -> float:
    """Median microseconds per call over ``seconds`` of pairs (after one warm-up pair)."""
    conn = http.client.HTTPConnection("127.0.0.1", port)
    times: list[float] = []
    deadline = None
    while deadline is None or time.perf_counter() < deadline:
        t0 = time.perf_counter()
        if kind == "ssc":
            made = call(
                conn,
                "Action=CreateServiceSpecificCredential&Version=2010-05-08"
                f"&UserName=bench&ServiceName={CC}",
            )
            ident = made.split(b"<ServiceSpecificCredentialId>")[1].split(b"<")[0].decode()
            call(
                conn,
                "Action=DeleteServiceSpecificCredential&Version=2010-05-08"
                f"&UserName=bench&ServiceSpecificCredentialId={ident}",
            )
        else:
            made = call(conn, "Action=CreateAccessKey&Version=2010-05-08&UserName=bench")
            ident = made.split(b"<AccessKeyId>")[1].split(b"<")[0].decode()
            call(
                conn,
                f"Action=DeleteAccessKey&Version=2010-05-08&UserName=bench&AccessKeyId={ident}",
            )
        if deadline is None:
            deadline = time.perf_counter() + seconds
            continue
        times.append((time.perf_counter() - t0) / 2 * 1e6)
    conn.close()
    return statistics.median(times)


def per_call_boto3(port: int, seconds: float) -> float:
    """The same pairs from a boto3 client (signing, serialising, parsing included)."""
    import boto3

    iam = boto3.client(
        "iam",
        region_name="us-east-1",
        endpoint_url=f"http://127.0.0.1:{port}",
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="t",
    )
    times: list[float] = []
    deadline = None
    while deadline is None or time.perf_counter() < deadline:
        t0 = time.perf_counter()
        key = iam.create_access_key(UserName="bench")["AccessKey"]["AccessKeyId"]
        iam.delete_access_key(UserName="bench", AccessKeyId=key)
        if deadline is None:  # the first pair loads the client's model: not timed
            deadline = time.perf_counter() + seconds
            continue
        times.append((time.perf_counter() - t0) / 2 * 1e6)
    return statistics.median(times)


def instructions_per_pair(variant: str) -> float | None:
    """Instructions the endpoint's app spends on one Create+Delete pair, plain or with
    ``--moto`` (None without valgrind): server_cost.py's in-process harness (the ASGI app
    called as uvicorn calls it), counted by cachegrind for 20 and 60 pairs, the difference
    divided."""
    import os
    import shutil

    if shutil.which("valgrind") is None:
        return None
    from instructions import count_command

    here = os.path.dirname(os.path.abspath(__file__))
    counts = [
        count_command([sys.executable, "-c", f"import sys; sys.path.insert(0, {here!r});"
                       f" import server_cost; server_cost._run('sscstub', {pairs},"
                       f" moto={variant == 'moto'})"])
        for pairs in (20, 60)
    ]  # fmt: skip
    return (counts[1] - counts[0]) / 40


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs: prove the script works")
    args = parser.parse_args()
    seconds, rounds = (0.3, 1) if args.quick else (2.0, 7)
    started = time.perf_counter()
    moto, moto_port = start("moto")
    setup = http.client.HTTPConnection("127.0.0.1", moto_port)
    call(setup, "Action=CreateUser&Version=2010-05-08&UserName=bench")  # the relayed calls' user
    setup.close()
    servers = {
        "plain": start("--users", "bench"),
        "--moto": start("--moto", "--users", "bench"),
        "--upstream": start("--upstream", f"http://127.0.0.1:{moto_port}"),
    }
    kinds = ("plain", "--moto", "moto direct", "relay", "boto3 direct", "boto3 relay")
    times: dict[str, list[float]] = {k: [] for k in kinds}
    try:
        for _ in range(rounds):
            times["plain"].append(per_call(servers["plain"][1], "ssc", seconds))
            times["--moto"].append(per_call(servers["--moto"][1], "ssc", seconds))
            times["moto direct"].append(per_call(moto_port, "moto", seconds))
            times["relay"].append(per_call(servers["--upstream"][1], "moto", seconds))
            times["boto3 direct"].append(per_call_boto3(moto_port, seconds))
            times["boto3 relay"].append(per_call_boto3(servers["--upstream"][1], seconds))
    finally:
        for process, _port in [*servers.values(), (moto, moto_port)]:
            process.send_signal(signal.SIGTERM)
            process.wait(20)
    med = {key: statistics.median(values) for key, values in times.items()}
    print(f"sscstub composition benchmark{' (--quick)' if args.quick else ''}: {rounds} rounds")
    print("\n| call | µs per call (median) |")
    print("|---|---:|")
    print(f"| CreateServiceSpecificCredential/Delete, plain serve | {med['plain']:.0f} |")
    print(f"| the same through serve --moto | {med['--moto']:.0f} |")
    print(f"| CreateAccessKey/Delete, moto_server directly | {med['moto direct']:.0f} |")
    print(f"| the same relayed by serve --upstream | {med['relay']:.0f} |")
    print(
        f"| CreateAccessKey/Delete from boto3, moto_server directly | {med['boto3 direct']:.0f} |"
    )
    print(f"| the same relayed by serve --upstream | {med['boto3 relay']:.0f} |")
    lean = med["relay"] / med["moto direct"]
    print(f"\nthe relay from the lean client: {lean:.2f}x the upstream directly")
    wall = med["--moto"] / med["plain"]
    print(f"a served call through --moto, wall time: {wall:.2f}x plain serve")
    measured = {"compose-moto": wall, "compose-relay": med["boto3 relay"] / med["boto3 direct"]}
    plain, moto = instructions_per_pair("plain"), instructions_per_pair("moto")
    if plain is not None and moto is not None:
        print(
            f"instructions per Create+Delete pair at the endpoint: plain {plain:,.0f},"
            f" --moto {moto:,.0f} ({moto / plain:.3f}x; valgrind)"
        )
        measured["compose-moto"] = moto / plain
    print("\n" + verdicts(COMPOSE_TARGETS, measured))
    print(f"\nran in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
