"""A local IAM endpoint: the same engine, over HTTP, for every client that speaks IAM's query
protocol (the AWS CLI, the JavaScript SDK, R's paws, code in a subprocess).

`Front` is the whole protocol as one function from a request to a response, with the rules that
keep web pages out (`Front.refuse`); `Server` runs it on an asyncio loop in a background thread,
on loopback, over `_http` (httptools). Every request gets an answer, an AWS-shaped XML error at
worst, and no request can stop the server. Signatures are not checked: there is no
authentication, so bind it to loopback only.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ._answer import Answer
from ._bedrock import bedrock_error, bedrock_operation
from ._controls import Controls
from ._durable import StateBusy, StateUnavailable
from ._engine import Engine
from ._errors import AwsError, SscStubError
from ._git import PREFIX as GIT_PREFIX
from ._git import ROUTES as GIT_ROUTES
from ._git import Repos, basic_auth, text_reply, valid_repo_name
from ._http import AVAILABLE, Connection, Limits, Outgoing, Reply, Request, Streamed
from ._model import default_service_model, iam
from ._operations import OPERATIONS
from ._options import Options
from ._query import encode, http_date, read_query, utc_stamp
from ._secrets import long_term_prefix

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._options import StubOptions

API_PREFIX = "/_sscstub/"


def _xml_error(status: int, code: str, message: str, request_id: str, now: int) -> Reply:
    """IAM's XML error for a request the engine never saw (an HTTP-level problem)."""
    fault = "Receiver" if status >= 500 else "Sender"
    error = {"Type": fault, "Code": code, "Message": message}
    return encode(Answer(status, request_id, now, "", None, error, False), None)


LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
RELAYED_MAX_REQUEST = 16 * 1024 * 1024  # bytes of a request passed on to moto or an upstream


Rest = Callable[[Request], Streamed]  # what answers every request that is not sscstub's


def signing_service(authorization: str | None) -> str | None:
    """The service a SigV4 Authorization header is scoped to (``.../us-east-1/iam/...``)."""
    if not authorization:
        return None
    start = authorization.find("Credential=")
    if start < 0:
        return None
    scope = authorization[start + 11 :].split(",", 1)[0].split("/")
    return scope[3].strip().lower() if len(scope) == 5 else None


class Front:
    """The HTTP front end of one server: request in, ``(status, headers, body)`` out."""

    def __init__(
        self,
        server: Server,
        hosts: frozenset[str],
        rest: Rest | None = None,
        relays: Executor | None = None,
    ) -> None:
        self.server = server
        self.engine = server._engine
        self.rest = rest  # moto's dispatch or an upstream relay; None: answer IAM errors
        self.relays = relays  # the worker threads that relay (so they hold up nothing else)
        self.relays_bedrock = server.options.upstream is not None
        self._model = iam(None)
        self._known = frozenset(default_service_model().operation_names)
        self._hosts = hosts  # the Host names (any port) requests may carry
        self._origins = frozenset(
            f"{scheme}://{host}{port}"
            for host in hosts
            for scheme in ("http", "https")
            for port in (f":{server.port}", "")
            if host not in LOOPBACK_NAMES or port  # a loopback page on another port is another app
        )

    @staticmethod
    def request_id() -> str:
        """A request id for an answer the engine did not make (an HTTP-level error)."""
        return str(uuid.uuid4())

    def error(self, status: int, code: str, message: str) -> Reply:
        """IAM's XML error for what the engine never saw (HTTP-level problems)."""
        return _xml_error(status, code, message, self.request_id(), int(time.time()))

    def refuse(self, request: Request) -> str | None:
        """Why a request that a web page may have sent is refused (None: it is not). Clients
        and SDKs send neither Origin nor Sec-Fetch-Site, and a Host of the address they were
        given; a DNS-rebinding page sends its own name as Host, and a cross-site page an
        Origin or ``Sec-Fetch-Site: cross-site``."""
        headers = request.headers
        host = headers.get("host")
        if host is not None:
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if name.lower() not in self._hosts:
                return (
                    f"Host {host!r} is not this endpoint's address. A web page may not reach it"
                    " (DNS rebinding); to allow a name, start it with --allow-host NAME"
                    " (allow_hosts=[...] in Python)."
                )
        origin = headers.get("origin")
        if origin is not None:
            if origin.lower() in self._origins:
                return None  # a page this endpoint was told to trust
            return (
                f"Origin {origin!r}: requests from web pages are refused. Clients and SDKs send"
                " no Origin; to allow a page's name, start it with --allow-host NAME."
            )
        if headers.get("sec-fetch-site", "").lower() == "cross-site":
            return (
                "A cross-site request from a web page is refused (Sec-Fetch-Site). Clients and"
                " SDKs send none; to allow a page's name, start it with --allow-host NAME."
            )
        return None

    def answer(self, request: Request, wait: bool = True) -> Outgoing | Executor | None:
        """The reply; without ``wait``, None for what may block on the state file's lock or
        on an upstream's user lookup, or the relays' executor for what is relayed (the server
        answers either again in a worker thread)."""
        method, target, body = request.method, request.target, request.body
        now = int(time.time())
        path, _, query = target.partition("?")
        test_api = path.startswith(API_PREFIX)
        refused = self.refuse(request)
        if refused is not None:
            if test_api:
                return _json(403, {"error": refused})
            return _xml_error(403, "AccessDenied", refused, self.request_id(), now)
        if test_api:
            if method in ("POST", "DELETE") and not request.headers.get(
                "content-type", ""
            ).lower().startswith("application/json"):
                return _json(
                    415,
                    {
                        "error": f"{method} {path} needs Content-Type: application/json (no"
                        " web form can send it without the browser asking first).",
                    },
                )
            if not wait and self.engine.options.state is not None:
                return None  # reads and writes of the file
            return self._test_api(method, path[len(API_PREFIX) :], body)
        if path.startswith(GIT_PREFIX):  # CodeCommit's git over HTTP
            return self._git(request, path, query) if wait else self.server._git_pool
        authorization = request.headers.get("authorization", "")
        if authorization[:7].lower() == "bearer ":  # Bedrock's API keys, and nothing of IAM's
            return self._bedrock(request, path, authorization[7:].strip(), wait)
        rest = self.rest
        if rest is not None:
            service = signing_service(request.headers.get("authorization"))
            if (service is not None and service != "iam") or method not in ("GET", "POST"):
                return self._relay(request) if wait else self.relays
            params = _iam_params(body, query)
            action = None if params is None else params.get("Action")
            if params is None or action is None or action not in OPERATIONS:
                return self._pass_on(request, action, params or {}) if wait else self.relays
            return self._serve(action, params, request, wait)
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
        return self._serve(action, params, request, wait)

    def _serve(
        self, action: str, params: dict[str, str], request: Request, wait: bool
    ) -> Reply | None:
        """One of the five operations, answered by the engine."""
        lookup = self.engine.elsewhere
        if lookup is not None:  # the user may be the upstream's: ask it, off the loop
            name = params.get("UserName")
            if name is not None and lookup.known_here(name) is None:
                if not wait:
                    return None
                from ._relay import UpstreamUnavailable, access_key_of

                try:
                    lookup.prefetch([name], access_key_of(request.headers.get("authorization")))
                except UpstreamUnavailable as error:
                    return self.error(error.status, error.code, error.message)
                try:
                    return self._handle(action, params, wait)
                finally:
                    lookup.forget()
        return self._handle(action, params, wait)

    def _handle(self, action: str, params: dict[str, str], wait: bool) -> Reply | None:
        try:
            answer = self.engine.handle(action, params, self._model, utc_stamp, wait)
        except StateBusy:
            return None  # another process holds the file's lock: wait for it off the loop
        assert answer is not None  # a simulated operation is always answered
        return encode(answer, self._model.writer(action))

    # --- CodeCommit's git over HTTP --------------------------------------------------------------

    def _git(self, request: Request, path: str, query: str) -> Outgoing:
        """``/v1/repos/<name>/...``: git's smart HTTP, for the current password of an Active
        CodeCommit credential (Basic auth), answered by git http-backend (in a worker thread)."""
        repos = self.server._repos
        if not repos.available:
            return text_reply(501, "sscstub found no git http-backend: install git to serve repos.")
        name, _, rest = path[len(GIT_PREFIX) :].partition("/")
        rest = f"/{rest}" if rest else ""
        if not valid_repo_name(name):
            return text_reply(
                400,
                f"{name!r} is not a CodeCommit repository name: 1 to 100 letters, digits,"
                " '.', '_' or '-', not ending in .git.",
            )
        if not GIT_ROUTES.fullmatch(rest) or request.method not in ("GET", "POST"):
            return text_reply(404, f"{request.method} {path} is not part of git's smart HTTP.")
        pushing = rest == "/git-receive-pack" or "service=git-receive-pack" in query
        login = basic_auth(request.headers.get("authorization", ""))
        challenge = {"WWW-Authenticate": 'Basic realm="sscstub CodeCommit"'}
        if login is None:
            return text_reply(401, "Authentication required.", challenge)
        operation = "GitPush" if pushing else "GitPull"
        if not self.engine.check_git_password(operation, *login):
            # CodeCommit answers refused credentials 403, with no challenge: git stops with
            # "The requested URL returned error: 403" instead of asking again.
            return text_reply(403, "Access denied.")
        if not repos.exists(name):
            if not (pushing and repos.create_on_push):
                return text_reply(404, f"Repository {name} does not exist.")
            repos.add(name)
        try:
            return repos.serve(request, name, rest, query, login[0])
        except ValueError:
            return text_reply(500, "git http-backend failed before its answer began.")

    # --- Bedrock calls with an API key ----------------------------------------------------------

    def _bedrock(
        self, request: Request, path: str, token: str, wait: bool
    ) -> Outgoing | Executor | None:
        """A call with a bearer token: a long-term key (``ABSK...``) sscstub did not issue, or
        one not current, gets Bedrock's 403; an accepted one (and any other token) is relayed
        with --upstream, else answered 501 naming the operation (Bedrock is not simulated)."""
        if self.relays_bedrock and not wait:
            return self.relays  # checked there, once, then relayed
        service, operation = bedrock_operation(request.method, path)
        if long_term_prefix(token) is not None:
            if not wait and self.engine.options.state is not None:
                return None  # the check reads the state file
            answer = self.engine.check_api_key(service, operation, token)
            if answer.error is not None:
                return bedrock_error(403, answer.error["Code"], answer.error["Message"], answer)
        if self.relays_bedrock:
            return self._relay(request) if wait else self.relays
        message = (
            f"sscstub checked the API key, but does not simulate Bedrock: {service} {operation}"
            " is not answered here. Start the endpoint with --upstream URL to pass such calls on."
        )
        now = int(time.time())
        return bedrock_error(
            501,
            "NotImplemented",
            message,
            Answer(501, self.request_id(), now, "", None, None, False),
        )

    # --- everything else, with --moto or --upstream ------------------------------------------

    def _relay(self, request: Request) -> Outgoing:
        from ._relay import UpstreamUnavailable

        assert self.rest is not None
        try:
            return self.rest(request)
        except UpstreamUnavailable as error:
            return self.error(error.status, error.code, error.message)

    def _pass_on(self, request: Request, action: str | None, params: Mapping[str, str]) -> Outgoing:
        """An IAM request sscstub does not answer, passed on, as in-process composition does:
        DeleteUser of a user with credentials is refused first, and a rename is followed."""
        self.engine.compose_now()  # with --moto: sscstub's users are there (again) first
        if action == "DeleteUser":
            conflict = self.engine.delete_user_conflict(params)
            if conflict is not None:
                return encode(conflict, None)
        reply = self._relay(request)
        if action == "UpdateUser" and reply[0] == 200:
            old, new = params.get("UserName"), params.get("NewUserName")
            if isinstance(old, str) and isinstance(new, str):
                self.engine.rename_user(old, new)
        return reply

    # --- the test API, JSON under /_sscstub/ --------------------------------------------------

    def _test_api(self, method: str, route: str, body: bytes) -> Reply:
        try:
            data = json.loads(body or b"{}")
            if not isinstance(data, dict):
                raise ValueError("the body must be a JSON object")
        except (ValueError, RecursionError) as error:
            reason = "it nests too deeply" if isinstance(error, RecursionError) else error
            return _json(400, {"error": f"The body is not a JSON object: {reason}."})
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
                return _json(200, {"calls": calls, "dropped": self.engine.dropped_calls})
            if (method, route) == ("GET", "users"):
                return _json(200, {"users": sorted(stub.users)})
            if (method, route) == ("POST", "users"):
                stub.add_user(data.get("name"))  # type: ignore[arg-type]
                return _json(200, {"users": sorted(stub.users)})
            if method == "DELETE" and route.startswith("users/"):
                stub.remove_user(route[len("users/") :])
                return _json(200, {"users": sorted(stub.users)})
            if (method, route) == ("GET", "repos"):
                return _json(200, {"repos": stub.repos})
            if (method, route) == ("POST", "repos"):
                stub.add_repo(data.get("name"))  # type: ignore[arg-type]
                return _json(200, {"repos": stub.repos})
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
        except StateUnavailable as error:
            return _json(503, {"error": str(error)})
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


def _iam_params(body: bytes, query: str) -> dict[str, str] | None:
    """A query-protocol request's parameters (the body's, then the query string's), or None
    when it is not one."""
    try:
        text = body.decode("utf-8")
        params = read_query(text) if text and "=" in text else {}
        if query:
            for key, value in read_query(query).items():
                params.setdefault(key, value)
    except (UnicodeDecodeError, ValueError):
        return None
    return params


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


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the endpoint on this machine."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host.lower() == "localhost"


def _default_max_connections() -> int:
    """Well below the open-file limit, so accepting never fails for lack of descriptors."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):
        return 512
    if soft == resource.RLIM_INFINITY:
        return 1000
    return max(8, min(1000, soft // 2))


class Settings(NamedTuple):
    """How a `Server` serves (`serve`'s keywords besides the stub's options)."""

    host: str = "127.0.0.1"
    port: int = 0
    verbose: bool = False
    allow_hosts: tuple[str, ...] = ()
    max_calls: int = 10_000
    idle_timeout: float = 5.0
    max_connections: int | None = None  # None: half the open-file limit, 1,000 at most
    create_repos: bool = False  # a push to a repository that does not exist creates it


def bind_error(host: str, port: int, error: OSError) -> SscStubError:
    """What to do when the address cannot be bound (a port in use, an address not here)."""
    import errno

    if error.errno == errno.EADDRINUSE:
        return SscStubError(
            f"Port {port} on {host} is in use (another sscstub serve, or another server).",
            "Stop what holds it, or take a free port: --port 0 (port=0 in Python), which the"
            " banner (server.url) then names.",
            "the-local-endpoint",
        )
    return SscStubError(
        f"Cannot listen on {host}:{port}: {error.strerror or error}.",
        "Pass an address of this machine: 127.0.0.1 (the default) keeps the endpoint here.",
        "the-local-endpoint",
    )


SERVE_KEYWORDS = tuple(name for name in Settings._fields if name != "max_connections")


class Server(Controls):
    """A running endpoint: ``.url``, and the same test API as `SSCStub`.

    ``sscstub.serve(users=["jane"])`` starts one on a free loopback port in a background thread
    (an asyncio loop: one thread serves every connection, keep-alive, each answer written in
    one piece with TCP_NODELAY); ``with`` stops it at the end.
    """

    def __init__(self, options: Options, settings: Settings | None = None) -> None:
        (
            host,
            port,
            verbose,
            allow_hosts,
            max_calls,
            idle_timeout,
            max_connections,
            create_repos,
        ) = settings or Settings()
        if not AVAILABLE:
            raise SscStubError(
                "The endpoint needs httptools, which is not installed.",
                "Install sscstub with its server extra: pip install 'sscstub[server]'.",
                "the-local-endpoint",
            )
        if not host:
            raise SscStubError(
                "host='' would bind every interface.",
                "Pass an address: 127.0.0.1 (the default) keeps the endpoint on this machine.",
                "the-local-endpoint",
            )
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise SscStubError(
                f"port={port!r} is not a TCP port.", "Pass 0 to 65535 (0: a free one).", ""
            )
        self.options: Options = options
        self._engine = Engine(options, max_calls=max_calls)
        self._pending = []
        self.verbose: bool = verbose
        moto = None
        if options.moto:  # before anything is bound or started: it may be missing
            from ._relay import MotoDispatch

            moto = MotoDispatch()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._socket = socket.socket(family, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._socket.bind((host, port))
        except OSError as error:
            self._socket.close()
            raise bind_error(host, port, error) from None
        self._socket.listen(128)
        address = self._socket.getsockname()
        self.host: str = str(address[0])
        self.port: int = int(address[1])
        shown = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)  # noqa: S104
        shown = f"[{shown}]" if ":" in shown else shown
        self.url: str = f"http://{shown}:{self.port}"  # an address clients here can use
        hosts = {*LOOPBACK_NAMES, shown.lower(), *(h.lower() for h in allow_hosts)}
        # Every other request: to moto's dispatch in this process, or relayed to an upstream,
        # in worker threads of their own, so that none of them holds up sscstub's operations.
        self._rest: Rest | None = None
        self._relays: ThreadPoolExecutor | None = None
        if options.moto or options.upstream is not None:
            self._relays = ThreadPoolExecutor(32, "sscstub-relay")
            if moto is not None:
                dispatch = moto
                self._rest = lambda request: dispatch(request, self.port)
            else:
                assert self._engine.elsewhere is not None
                self._rest = self._engine.elsewhere.upstream.relay
        self._front = Front(self, frozenset(hosts), self._rest, self._relays)
        passes_on = bool(options.moto) or options.upstream is not None
        self._limits = Limits(
            # Relayed requests (an S3 upload, say) are read whole before they are passed on.
            max_request=RELAYED_MAX_REQUEST if passes_on else Limits().max_request,
            idle_timeout=idle_timeout,
            request_timeout=idle_timeout,
            max_connections=max_connections or _default_max_connections(),
        )
        # With durable state a call may have to wait for the file's lock: it is tried on the
        # loop without waiting, and answered in a worker thread only when the lock is held
        # elsewhere, so the loop (and every other connection) is never held up.
        waits = options.state is not None or options.upstream is not None or options.moto
        self._workers = ThreadPoolExecutor(8, "sscstub") if waits else None
        # CodeCommit's git over HTTP: repositories of this server's own, git runs in threads
        # of their own (made only when a git request comes).
        self._repos = Repos(options.state, create_repos)
        self._git_pool = ThreadPoolExecutor(16, "sscstub-git")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._connections: set[Connection] = set()  # open connections, closed at stop

    @property
    def account_id(self) -> str:
        return self._engine.account_id

    # --- CodeCommit repositories (git over HTTP at /v1/repos/<name>) -----------------------------

    @property
    def repos(self) -> list[str]:
        """The names of this server's git repositories."""
        return self._repos.names() if self._repos._root is not None else []

    @property
    def repos_dir(self) -> Path:
        """Where they are: beside the state file, or a temporary folder removed at stop."""
        return self._repos.root

    def add_repo(self, name: str) -> None:
        """A new, empty repository that ``git clone {url}/v1/repos/{name}`` reaches with a
        CodeCommit credential's ServiceUserName and ServicePassword."""
        self._repos.add(name)

    def _answer(self, request: Request, wait: bool = False) -> Outgoing | Executor | None:
        reply = self._front.answer(request, wait)
        if self.verbose and isinstance(reply, tuple):
            sys.stderr.write(f"sscstub: {request.method} {request.target} {reply[0]}\n")
        return reply

    def _answer_waiting(self, request: Request) -> Outgoing:
        reply = self._answer(request, wait=True)
        assert isinstance(reply, tuple)
        return reply

    def _run(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)  # this thread's loop

        def streams(method: str, target: str) -> Executor | None:
            """A git push's body goes to git http-backend as it arrives."""
            if method == "POST" and target.startswith(GIT_PREFIX) and self._repos.available:
                return self._git_pool
            return None

        def connection() -> Connection:
            pool = self._workers or self._git_pool
            return Connection(
                self._answer,
                self._front.error,
                self._limits,
                self._connections,
                (self._answer_waiting, pool),
                streams,
            )

        server = loop.run_until_complete(loop.create_server(connection, sock=self._socket))
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            server.close()
            for open_connection in list(self._connections):
                if open_connection.transport is not None:
                    open_connection.transport.close()
            # Let the transports finish closing (their callbacks run on the loop) before it goes.
            loop.run_until_complete(server.wait_closed())
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()

    def __repr__(self) -> str:
        return f"<sscstub.Server {getattr(self, 'url', '(not bound)')}>"

    def start(self) -> Server:
        """Serve in a background thread (with durable state, on an open state file); it answers
        once this returns. Starting a started server does nothing."""
        if self._thread is not None:
            return self
        self._engine.open()
        self._engine.compose_now()  # with --moto: the users are moto's from the start
        self._thread = threading.Thread(target=self._run, name=f"sscstub {self.url}", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        return self

    def stop(self) -> None:
        """Stop serving; close every connection and the state file (its test API then raises
        `SscStubError`; an in-memory server's stays readable)."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join()
            self._thread = None
        self._socket.close()
        for pool in (self._workers, self._relays, self._git_pool):
            if pool is not None:
                pool.shutdown(wait=True)
        self._repos.close()
        if self._engine.elsewhere is not None:
            self._engine.elsewhere.upstream.close()
        self._engine.close(final=True)


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    verbose: bool = False,
    allow_hosts: Iterable[str] = (),
    max_calls: int = 10_000,
    idle_timeout: float = 5.0,
    create_repos: bool = False,
    **options: Unpack[StubOptions],
) -> Server:
    """A local IAM endpoint for the same options as `mock_ssc`, started: ``with sscstub.serve(
    users=["jane"]) as server:`` serves on a free loopback port in a background thread until the
    ``with`` ends, and ``server.url`` is what clients take as their IAM endpoint.

    :param allow_hosts: names besides this machine's loopback ones that requests may carry as
        ``Host`` or in ``Origin`` (a docker-compose service name, say).
    :param max_calls: the calls log keeps the most recent ones (long parameter values cut).
    :param idle_timeout: seconds an idle connection, or an unfinished request, is kept.
    :param create_repos: a git push to a repository that does not exist creates it (else 404).
    """
    from ._options import check_keywords, option_names

    check_keywords("sscstub.serve()", options, [*option_names(), *SERVE_KEYWORDS])
    settings = Settings(
        host, port, verbose, tuple(allow_hosts), max_calls, idle_timeout, None, create_repos
    )
    return Server(Options.from_keywords(**options), settings).start()
