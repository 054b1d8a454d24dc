"""A local IAM endpoint: the same engine, over HTTP, for every client that speaks IAM's query
protocol (the AWS CLI, the JavaScript SDK, R's paws, code in a subprocess).

`Front.answer` is the whole protocol as one function from a request to a response; `Server`
runs it on an asyncio loop in a background thread, on loopback (HTTP itself is in `_http`).
Every request gets an answer, an AWS-shaped XML error at worst, and no request can stop the
server. Signatures are not checked: there is no authentication, so never bind it to anything
but loopback.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import threading
import time
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ._answer import Answer
from ._controls import Controls
from ._engine import Engine
from ._errors import AwsError, SscStubError
from ._http import BadRequest, Reply, parse
from ._http import encode as encode_http
from ._model import default_service_model, iam
from ._operations import OPERATIONS
from ._options import Options
from ._query import encode, http_date, read_query, utc_stamp

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._options import StubOptions

API_PREFIX = "/_sscstub/"


def _xml_error(status: int, code: str, message: str, request_id: str, now: int) -> Reply:
    """IAM's XML error for a request the engine never saw (an HTTP-level problem)."""
    fault = "Receiver" if status >= 500 else "Sender"
    error = {"Type": fault, "Code": code, "Message": message}
    return encode(Answer(status, request_id, now, "", None, error, False), None)


class Front:
    """The HTTP front end of one server: request in, ``(status, headers, body)`` out."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.engine = server._engine
        self._model = iam(None)
        self._known = frozenset(default_service_model().operation_names)

    @staticmethod
    def request_id() -> str:
        """A request id for an answer the engine did not make (an HTTP-level error)."""
        return str(uuid.uuid4())

    def answer(self, method: str, target: str, body: bytes, now: int) -> Reply:
        path, _, query = target.partition("?")
        if path.startswith(API_PREFIX):
            return self._test_api(method, path[len(API_PREFIX) :], body)
        if method not in ("GET", "POST"):
            return _xml_error(
                405,
                "MethodNotAllowed",
                f"IAM takes GET and POST, not {method}.",
                self.request_id(),
                now,
            )
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return _xml_error(
                400,
                "MalformedQueryString",
                "The request body is not UTF-8.",
                self.request_id(),
                now,
            )
        try:
            params = read_query(text) if text else {}
            if query:
                for key, value in read_query(query).items():
                    params.setdefault(key, value)
        except (UnicodeDecodeError, ValueError):
            return _xml_error(
                400,
                "MalformedQueryString",
                "The query string is malformed.",
                self.request_id(),
                now,
            )
        action = params.get("Action")
        if not action:
            return _xml_error(
                400,
                "MissingAction",
                "The request must contain the parameter Action.",
                self.request_id(),
                now,
            )
        if action not in OPERATIONS:
            if action in self._known:
                return _xml_error(
                    501,
                    "NotImplemented",
                    f"sscstub does not simulate the IAM action {action}: it serves only the"
                    f" service-specific credential operations ({', '.join(OPERATIONS)}).",
                    self.request_id(),
                    now,
                )
            return _xml_error(
                400,
                "InvalidAction",
                f"The action {action} is not valid for this web service.",
                self.request_id(),
                now,
            )
        answer = self.engine.handle(action, params, self._model, utc_stamp)
        assert answer is not None  # a simulated operation is always answered
        return encode(answer, self._model.writer(action))

    # --- the test API, JSON under /_sscstub/ --------------------------------------------------

    def _test_api(self, method: str, route: str, body: bytes) -> Reply:
        try:
            data = json.loads(body or b"{}")
            if not isinstance(data, dict):
                raise ValueError("the body must be a JSON object")
        except ValueError as error:
            return _json(400, {"error": f"The body is not a JSON object: {error}."})
        stub = self.server
        try:
            if (method, route) == ("GET", "health"):
                return _json(200, {"ok": True})
            if (method, route) == ("GET", "credentials"):
                return _json(200, {"credentials": [_credential(c) for c in stub.credentials]})
            if (method, route) == ("GET", "calls"):
                calls = [
                    {
                        "operation": c.operation,
                        "params": dict(c.params),
                        "error_code": c.error_code,
                        "request_id": c.request_id,
                    }
                    for c in stub.calls
                ]
                return _json(200, {"calls": calls})
            if (method, route) == ("GET", "users"):
                return _json(200, {"users": sorted(stub.users)})
            if (method, route) == ("POST", "users"):
                stub.add_user(data.get("name"))  # type: ignore[arg-type]
                return _json(200, {"users": sorted(stub.users)})
            if method == "DELETE" and route.startswith("users/"):
                stub.remove_user(route[len("users/") :])
                return _json(200, {"users": sorted(stub.users)})
            if (method, route) == ("POST", "authenticate"):
                if "api_key" in data:
                    ok = stub.authenticate_api_key(data["api_key"])
                else:
                    ok = stub.authenticate(
                        data.get("service_user_name"),  # type: ignore[arg-type]
                        data.get("password"),  # type: ignore[arg-type]
                        service_name=data.get("service_name"),
                    )
                return _json(200, {"authenticated": ok})
            if (method, route) == ("POST", "errors"):
                stub.inject_error(
                    data.get("operation"),  # type: ignore[arg-type]
                    data.get("code"),  # type: ignore[arg-type]
                    data.get("message"),
                    times=data.get("times", 1),
                )
                return _json(200, {"ok": True})
            if (method, route) == ("POST", "reset"):
                stub.reset()
                return _json(200, {"ok": True})
        except SscStubError as error:
            return _json(400, {"error": error.what, "todo": error.todo})
        except AwsError as error:
            return _json(400, {"error": f"{error.code}: {error.message}"})
        return _json(
            404,
            {
                "error": f"{method} {API_PREFIX}{route} is not part of sscstub's test API.",
                "todo": "See docs/endpoint.md for the routes.",
            },
        )


def _credential(c: Any) -> dict[str, Any]:
    def iso(value: datetime | None) -> str | None:
        return None if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")

    return {
        "service_specific_credential_id": c.service_specific_credential_id,
        "user_name": c.user_name,
        "service_name": c.service_name,
        "status": c.status,
        "create_date": iso(c.create_date),
        "expiration_date": iso(c.expiration_date),
        "service_user_name": c.service_user_name,
        "service_credential_alias": c.service_credential_alias,
    }


def _json(status: int, payload: Mapping[str, Any]) -> Reply:
    data = json.dumps(payload).encode()
    now = int(datetime.now(timezone.utc).timestamp())
    headers = {
        "Content-Type": "application/json",
        "Content-Length": str(len(data)),
        "Date": http_date(now),
    }
    return status, headers, data


# --- the HTTP server ---------------------------------------------------------------------------


class _Connection(asyncio.Protocol):
    """One keep-alive connection: requests parsed from what arrives, each answer written in
    one piece (with TCP_NODELAY: no Nagle stall between small writes)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.server._connections.add(self)
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        transport = self.transport
        front = self.server._front
        while transport is not None and not transport.is_closing():
            now = int(time.time())
            try:
                request = parse(self.buffer)
            except BadRequest as bad:
                self._reply(_xml_error(*bad.reply, front.request_id(), now), close=True)
                return
            if request is None:
                return
            method, target, headers, body, used = request
            del self.buffer[:used]
            try:
                reply = front.answer(method, target, body, now)
            except Exception as error:  # noqa: BLE001  (no request stops the server)
                reply = _xml_error(
                    500,
                    "InternalFailure",
                    f"sscstub failed to answer: {type(error).__name__}.",
                    front.request_id(),
                    now,
                )
            self._reply(reply, close=headers.get("connection", "").lower() == "close")

    def _reply(self, reply: Reply, close: bool) -> None:
        assert self.transport is not None
        self.transport.write(encode_http(reply, close))
        if self.server.verbose:
            sys.stderr.write(f"sscstub: {reply[0]} {len(reply[2])} bytes\n")
        if close:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.server._connections.discard(self)

    def eof_received(self) -> bool | None:
        if self.buffer.strip():  # a request cut short
            now = int(time.time())
            error = _xml_error(
                400,
                "IncompleteBody",
                "The request ends early.",
                self.server._front.request_id(),
                now,
            )
            self._reply(error, close=True)
        return None


class Server(Controls):
    """A running endpoint: ``.url``, and the same test API as `SSCStub`.

    Use ``with sscstub.serve(users=["jane"]) as server:``; it starts on a free loopback port
    in a background thread (an asyncio loop: one thread serves every connection, keep-alive,
    each answer written in one piece with TCP_NODELAY) and stops on exit.
    """

    def __init__(
        self, options: Options, host: str = "127.0.0.1", port: int = 0, verbose: bool = False
    ) -> None:
        self.options: Options = options
        self._engine = Engine(options)
        self._pending = []
        self._front = Front(self)
        self.verbose: bool = verbose
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self._socket.listen(128)
        address = self._socket.getsockname()
        self.host: str = str(address[0])
        self.port: int = int(address[1])
        shown = f"[{self.host}]" if ":" in self.host else self.host
        self.url: str = f"http://{shown}:{self.port}"
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._connections: set[_Connection] = set()  # open keep-alive connections, closed at stop

    @property
    def account_id(self) -> str:
        return self._engine.account_id

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)  # this thread's loop
        server = loop.run_until_complete(
            loop.create_server(lambda: _Connection(self), sock=self._socket)
        )
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            server.close()
            for connection in list(self._connections):
                if connection.transport is not None:
                    connection.transport.close()
            # Let the transports finish closing (their callbacks run on the loop) before it goes.
            loop.run_until_complete(server.wait_closed())
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()

    def __repr__(self) -> str:
        return f"<sscstub.Server {self.url}>"

    def start(self) -> Server:
        """Serve in a background thread (with durable state, on an open state file)."""
        self._engine.open()
        self._thread = threading.Thread(target=self._run, name=f"sscstub {self.url}", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        return self

    def stop(self) -> None:
        """Stop serving, close every connection and the state file."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._thread = None
        self._socket.close()
        self._engine.close()


def serve(
    *, host: str = "127.0.0.1", port: int = 0, verbose: bool = False, **options: Unpack[StubOptions]
) -> Server:
    """A local IAM endpoint for the same options as `mock_ssc`: ``with sscstub.serve(users=
    ["jane"]) as server:`` starts it on a free loopback port in a background thread, and
    ``server.url`` is what clients take as their IAM endpoint."""
    return Server(Options.from_keywords(**options), host=host, port=port, verbose=verbose)
