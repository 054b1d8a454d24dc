"""A local IAM endpoint: the same engine, over HTTP, for every client that speaks IAM's query
protocol (the AWS CLI, the JavaScript SDKs, R's paws, curl, git).

`Server` builds the route table (`_routes`) from the services' own routes, and runs it as an
ASGI application on uvicorn, in a background thread with its own event loop, on a socket bound
here (loopback unless told otherwise). Signatures are not checked: there is no authentication,
so bind it to loopback only.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import shutil
import socket
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._controls import Controls
from ._engine import Engine
from ._errors import SscStubError
from ._git import PREFIX as GIT_PREFIX
from ._git import GitRoute, Repos
from ._model import default_service_model, iam
from ._options import Options
from ._routes import API_PREFIX, LOOPBACK_NAMES, MAX_BODY, App, Guard, Route
from ._settings import SETTING_NAMES, Settings

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._cql_server import CqlListener
    from ._options import StubOptions
    from ._relay import MotoApp, Relay

SERVE_KEYWORDS = SETTING_NAMES


def _need_the_server_extra() -> None:
    try:
        import httptools  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        raise SscStubError(
            "The endpoint needs uvicorn and httptools, which are not installed.",
            "Install sscstub with its server extra: pip install 'sscstub[server]'.",
            "the-local-endpoint",
        ) from None


def bind_error(host: str, port: int, error: OSError) -> SscStubError:
    """What to do when the address cannot be bound (a port in use, an address not here)."""
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


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP named, so asyncio turns Nagle off on each accepted connection (it checks
    # sock.proto): an answer's head and body go out at once, not 40 ms apart (delayed ACK)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise bind_error(host, port, error) from None
    sock.listen(128)
    return sock


class Server(Controls):
    """A running endpoint: ``.url``, and the same test API as `SSCStub`.

    ``sscstub.serve(users=["jane"])`` starts one on a free loopback port in a background
    thread; ``with`` stops it at the end.
    """

    def __init__(self, options: Options, settings: Settings | None = None) -> None:
        _need_the_server_extra()
        self.options: Options = options
        settings = settings or Settings()
        self.settings: Settings = settings
        # Other requests: moto in this process, or an upstream. Made before anything is bound
        # (either may be missing), and moto's IAM imported before the server is ready.
        self._moto: MotoApp | None = None
        self._relay: Relay | None = None
        lookup = None
        if options.moto:
            from ._relay import MotoApp

            self._moto = MotoApp()
        elif options.upstream is not None:
            from ._relay import Relay, Upstream, UserLookup

            self._relay = Relay(Upstream(options.upstream))
            lookup = UserLookup()
        self._own(Engine(options, max_calls=settings.max_calls, elsewhere=lookup))
        if lookup is not None:
            lookup.own = self._engine.own_user
        self._repos = Repos(options.state, settings.create_repos)
        self._socket = _bind(settings.host, settings.port)
        address = self._socket.getsockname()
        self.host: str = str(address[0])
        self.port: int = int(address[1])
        shown = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(self.host, self.host)  # noqa: S104
        shown = f"[{shown}]" if ":" in shown else shown
        self.url: str = f"http://{shown}:{self.port}"  # an address clients here can use
        guard = Guard({*LOOPBACK_NAMES, shown, *settings.allow_hosts}, self.port)
        self._app = App(guard, settings.idle_timeout, options.state is not None, settings.verbose)
        self._git = GitRoute(self._engine, self._repos, self._app.in_state, settings.idle_timeout)
        self._app.routes = self._routes(lookup)
        self._cql: CqlListener | None = None
        self.cql_address: tuple[str, int] | None = None
        """Where Cassandra drivers connect (``cql_port``), or None."""
        self.cql_ca_file: Path | None = None
        """The throwaway CA's PEM that signed the CQL certificate (``cql_tls``), or None."""
        if settings.cql_port is not None:
            try:
                self._cql = self._cql_listener(settings, shown)
            except BaseException:
                self._socket.close()  # (nothing else is open yet)
                raise
        self._uvicorn: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    def _cql_listener(self, settings: Settings, shown: str) -> CqlListener:
        from ._cql_server import CqlListener, tls_context

        assert settings.cql_port is not None and settings.max_connections is not None
        sock = _bind(settings.host, settings.cql_port)
        self.cql_address = (shown.strip("[]"), int(sock.getsockname()[1]))
        context = None
        if settings.cql_tls:
            try:
                context, self.cql_ca_file = tls_context()
            except BaseException:
                sock.close()
                raise
        return CqlListener(
            self._engine, self._app.in_state, sock, settings.idle_timeout,
            settings.max_connections, context,
        )  # fmt: skip

    def _routes(self, lookup: Any) -> list[Route]:
        from ._bedrock import BedrockRoute
        from ._iam_http import IamRoute
        from ._test_api import TestApi

        app, idle, engine = self._app, self.settings.idle_timeout, self._engine
        passer: MotoApp | Relay | None = self._moto or self._relay
        forward = passer.forward if passer is not None else None

        async def onward(incoming: Any) -> Any:
            assert forward is not None
            return await forward(incoming, idle)

        test_api = TestApi(
            self, self._repos, str(self.options.state) if self.options.state else None
        )
        bedrock = BedrockRoute(engine, app.in_state, onward if self._relay else None)
        known = frozenset(default_service_model().operation_names)
        iam_route = IamRoute(
            engine,
            iam(None),
            known,
            app.in_state,
            onward if forward else None,
            (lookup, self._relay) if lookup is not None and self._relay is not None else None,
        )
        routes = [
            Route("test API", API_PREFIX, "state", MAX_BODY, test_api.handle),
            Route("git", GIT_PREFIX, "subprocess", None, self._git.handle),
            Route(
                "Bedrock", bedrock.matches, "relay" if self._relay else "loop", None, bedrock.handle
            ),
        ]
        if forward is None:
            return [*routes, Route("IAM", iam_route.matches, "state", MAX_BODY, iam_route.handle)]
        return [
            *routes,
            Route("IAM", iam_route.matches, "relay", MAX_BODY, iam_route.handle_composed),
            Route("the rest", lambda incoming: True, "relay", None, onward),
        ]

    @property
    def account_id(self) -> str:
        return self._engine.account_id

    # --- CodeCommit repositories (git over HTTP at /v1/repos/<name>) -----------------------------

    @property
    def repos(self) -> list[str]:
        """The names of this server's git repositories (from its folder, so a restarted server
        on the same state file lists what is there)."""
        return self._repos.names()

    @property
    def repos_dir(self) -> Path:
        """Where they are: beside the state file, or a temporary folder removed at stop."""
        return self._repos.root

    def add_repo(self, name: str) -> None:
        """A new, empty repository that ``git clone {url}/v1/repos/{name}`` reaches with a
        CodeCommit credential's ServiceUserName and ServicePassword."""
        self._repos.add(name)

    # --- running --------------------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"<sscstub.Server {getattr(self, 'url', '(not bound)')}>"

    def start(self) -> Server:
        """Serve in a background thread (with durable state, on an open state file); it answers
        once this returns. Starting a started server does nothing."""
        if self._thread is not None:
            return self
        import uvicorn

        from ._protocol import for_server

        # uvicorn's own log records (connection warnings) go nowhere unless the process
        # configured logging: never to stderr per request, which may be a pipe no one reads.
        logging.getLogger("uvicorn.error").addHandler(logging.NullHandler())
        settings = self.settings
        assert settings.max_connections is not None
        config = uvicorn.Config(
            self._app,
            http=for_server(settings.idle_timeout, settings.max_connections),
            ws="none",
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            date_header=False,
            timeout_keep_alive=settings.idle_timeout,  # type: ignore[arg-type]
            timeout_graceful_shutdown=1,
        )
        self._uvicorn = uvicorn.Server(config)
        self._engine.open()
        self._engine.compose_now()  # with --moto: moto's IAM imported, the users made there
        ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name=f"sscstub {self.url}", daemon=True
        )
        self._thread.start()
        ready.wait(30)
        return self

    def _run(self, ready: threading.Event) -> None:
        loop = self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)

        async def serve() -> None:
            if self._cql is not None:
                await self._cql.start()
            task = asyncio.ensure_future(self._uvicorn.serve(sockets=[self._socket]))
            while not self._uvicorn.started and not task.done():
                await asyncio.sleep(0.001)
            ready.set()
            try:
                await task
            finally:
                await self._git.stop()
                if self._cql is not None:
                    await self._cql.close()
                if self._relay is not None:
                    await self._relay.close()

        try:
            loop.run_until_complete(serve())
        finally:
            ready.set()
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    def stop(self) -> None:
        """Stop serving: close every connection, kill every git run, close the state file (its
        test API then raises `SscStubError`; an in-memory server's stays readable)."""
        thread, self._thread = self._thread, None
        if thread is not None:
            self._uvicorn.should_exit = True
            thread.join()
        with contextlib.suppress(OSError):
            self._socket.close()
        if self._cql is not None:
            with contextlib.suppress(OSError):
                self._cql.sock.close()
        if self.cql_ca_file is not None:
            shutil.rmtree(self.cql_ca_file.parent, ignore_errors=True)
        if self._moto is not None:
            self._moto.app.executor.shutdown(wait=True)
        self._repos.close()
        self._engine.close(final=True)


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    allow_hosts: Iterable[str] = (),
    max_calls: int = 10_000,
    idle_timeout: float = 5.0,
    max_connections: int | None = None,
    create_repos: bool = False,
    verbose: bool = False,
    cql_port: int | None = None,
    cql_tls: bool = False,
    **options: Unpack[StubOptions],
) -> Server:
    """A local IAM endpoint for the same options as `mock_ssc`, started: ``with sscstub.serve(
    users=["jane"]) as server:`` serves on a free loopback port in a background thread until the
    ``with`` ends, and ``server.url`` is what clients take as their IAM endpoint.

    :param allow_hosts: names besides this machine's loopback ones that requests may carry as
        ``Host`` or in ``Origin`` (a docker-compose service name, say).
    :param max_calls: the calls log keeps the most recent ones (long parameter values cut).
    :param idle_timeout: seconds an idle connection, or an unfinished request, is kept.
    :param max_connections: connections open at once (default: half the open-file limit).
    :param create_repos: a git push to a repository that does not exist creates it (else 404).
    :param cql_port: a port (0: a free one) where Cassandra drivers sign in with Keyspaces
        passwords over CQL (``server.cql_address``); None: no CQL listener.
    :param cql_tls: serve CQL over TLS with a throwaway CA (``server.cql_ca_file``).
    """
    from ._options import check_keywords, option_names

    check_keywords("sscstub.serve()", options, [*option_names(), *SERVE_KEYWORDS])
    settings = Settings(
        host=host,
        port=port,
        allow_hosts=tuple(allow_hosts),
        max_calls=max_calls,
        idle_timeout=idle_timeout,
        max_connections=max_connections,
        create_repos=create_repos,
        verbose=verbose,
        cql_port=cql_port,
        cql_tls=cql_tls,
    )
    return Server(Options.from_keywords(**options), settings).start()
