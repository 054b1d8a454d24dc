"""The CQL port's cost: a sign-in through sscstub's listener against a zero-work responder.

    python benchmarks/bench_cql.py            # 7 rounds
    python benchmarks/bench_cql.py --quick    # 2 rounds: proves the script works

Both servers run in their own process, on the same asyncio loop implementation: ``sscstub serve
--cql-port 0``, and a responder that answers each request with bytes made once at its start
(SUPPORTED, AUTHENTICATE, AUTH_SUCCESS whatever the password, READY, and the rows of
``system.local`` and ``system.peers``), so it costs the loop and the socket only. Measured in
turns, each round on both:

* one connect plus sign-in with the Python driver's lean options (``protocol_version=4``, no
  schema or token metadata), then ``shutdown()``: median ms, and the ratio;
* connections per second of a raw client that sends STARTUP and AUTH_RESPONSE and reads the
  answers (no driver), one client process for a second.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

from targets import CQL_TARGETS, verdicts

ZERO_WORK = r"""
import asyncio, sys
from sscstub import _cql, _keyspaces
context = _keyspaces.Context("127.0.0.1", "us-east-1", "1" * 32, "2" * 32)
def rows(text):
    return _keyspaces.rows_answer(0, _keyspaces.run(text, None, context, []), False)[4:]
ANSWERS = {_cql.OPTIONS: _cql.supported(0)[4:], _cql.STARTUP: _cql.authenticate(0)[4:],
           _cql.AUTH_RESPONSE: _cql.auth_success(0)[4:], _cql.REGISTER: _cql.ready(0)[4:]}
LOCAL, PEERS = rows("SELECT * FROM system.local"), rows("SELECT * FROM system.peers")
class Responder(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.buffer = transport, b""
    def data_received(self, data):
        self.buffer += data
        while len(self.buffer) >= 9:
            length = int.from_bytes(self.buffer[5:9], "big")
            if len(self.buffer) < 9 + length:
                return
            head, body, self.buffer = self.buffer[:9], self.buffer[9:9 + length], self.buffer[9 + length:]
            if head[0] != 4:
                self.transport.write(_cql.error(0, 10, "Invalid or unsupported protocol version"))
                continue
            answer = ANSWERS.get(head[4]) or (LOCAL if b"local" in body else PEERS)
            self.transport.write(b"\x84\x00" + head[2:4] + answer)
async def main():
    server = await asyncio.get_running_loop().create_server(Responder, "127.0.0.1", int(sys.argv[1]))
    print("ready", flush=True)
    await server.serve_forever()
asyncio.run(main())
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(kind: str) -> tuple[subprocess.Popen[str], int, str]:
    """The server's process, its CQL port, and (sscstub's) IAM URL."""
    port = free_port()
    if kind == "zero-work":
        argv = [sys.executable, "-c", ZERO_WORK, str(port)]
    else:
        argv = [sys.executable, "-m", "sscstub", "serve", "--port", "0", "--cql-port", str(port),
                "--users", "jane"]  # fmt: skip
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert process.stdout is not None
    url = ""
    for line in process.stdout:
        if line.startswith("sscstub serving IAM at "):
            url = line.split()[-1]
        if "ready" in line:
            break
    return process, port, url


def credential(url: str) -> tuple[str, str]:
    """A Keyspaces login and password made on sscstub's endpoint (the responder takes any)."""
    import boto3

    made = boto3.client(
        "iam",
        region_name="us-east-1",
        endpoint_url=url,
        aws_access_key_id="t",
        aws_secret_access_key="t",
    ).create_service_specific_credential(UserName="jane", ServiceName="cassandra.amazonaws.com")
    cred = made["ServiceSpecificCredential"]
    return cred["ServiceUserName"], cred["ServicePassword"]  # fmt: skip


def sign_in_ms(port: int, login: str, password: str, count: int) -> float:
    """Median ms of one lean-driver connect, sign-in and shutdown."""
    from cassandra.auth import PlainTextAuthProvider
    from cassandra.cluster import Cluster

    took = []
    for _ in range(count):
        started = time.perf_counter()
        cluster = Cluster(
            ["127.0.0.1"], port=port, protocol_version=4, schema_metadata_enabled=False,
            token_metadata_enabled=False, auth_provider=PlainTextAuthProvider(login, password),
        )  # fmt: skip
        cluster.connect()
        cluster.shutdown()
        took.append((time.perf_counter() - started) * 1000)
    return statistics.median(took)


def raw_rate(port: int, login: str, password: str, seconds: float) -> float:
    """Connections per second of a client sending STARTUP and AUTH_RESPONSE, no driver."""
    from sscstub import _cql

    startup = (1).to_bytes(2, "big") + _cql.string("CQL_VERSION") + _cql.string("3.4.4")
    token = _cql.value(b"\x00" + login.encode() + b"\x00" + password.encode())
    hello = _cql._HEAD.pack(4, 0, 1, _cql.STARTUP, len(startup)) + startup
    hello += _cql._HEAD.pack(4, 0, 2, _cql.AUTH_RESPONSE, len(token)) + token
    done, deadline = 0, time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        with socket.create_connection(("127.0.0.1", port)) as sock:
            sock.sendall(hello)
            seen = b""
            while seen.count(b"\x84\x00") < 2 or len(seen) < 9 + 2 + 9:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                seen += chunk
            assert b"\x84\x00\x00\x02\x10" in seen, seen[:60]  # AUTH_SUCCESS on stream 2
        done += 1
    return done / seconds


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    logging.getLogger("cassandra").setLevel(logging.CRITICAL)
    rounds, count = (2, 5) if args.quick else (7, 30)
    started = time.perf_counter()
    servers, url = {}, ""
    for kind in ("zero-work", "sscstub"):
        process, port, url = start(kind)
        servers[kind] = (process, port)
    login, password = credential(url)
    ms: dict[str, list[float]] = {k: [] for k in servers}
    rate: dict[str, list[float]] = {k: [] for k in servers}
    try:
        for _ in range(rounds):
            for kind, (_, port) in servers.items():
                ms[kind].append(sign_in_ms(port, login, password, count))
                rate[kind].append(raw_rate(port, login, password, 0.5 if args.quick else 1.0))
    finally:
        for process, _ in servers.values():
            process.send_signal(signal.SIGTERM)
            process.wait(10)
    print(f"CQL benchmark{' (--quick)' if args.quick else ''}: {rounds} rounds, taking turns\n")
    print("| server | driver connect + sign-in ms (median) | raw sign-ins/s (median) |")
    print("|---|---:|---:|")
    for kind in servers:
        print(
            f"| {kind} | {statistics.median(ms[kind]):.1f} | {statistics.median(rate[kind]):.0f} |"
        )
    ratio = statistics.median(ms["sscstub"]) / statistics.median(ms["zero-work"])
    raw = statistics.median(rate["sscstub"]) / statistics.median(rate["zero-work"])
    print(f"\nraw sign-ins per second, sscstub / zero-work: {raw:.2f}x")
    print("\n" + verdicts(CQL_TARGETS, {"cql-sign-in": ratio}))
    print(f"\nran in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    os.chdir(os.path.dirname(os.path.abspath(__file__)))
    sys.exit(main())
