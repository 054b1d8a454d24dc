"""The command line: ``sscstub serve`` (also ``python -m sscstub serve``)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any

from ._errors import SscStubError


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port (0 to 65535; 0: a free one)")
    return port


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="sscstub",
        description="IAM service-specific credentials, simulated locally.",
    )
    from . import __version__

    top.add_argument("--version", action="version", version=f"sscstub {__version__}")
    commands = top.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        formatter_class=_Defaults,
        help="run a local IAM endpoint (query protocol) for the AWS CLI, SDKs and curl",
        description="Serve IAM's five service-specific credential operations over HTTP, with"
        " the test API as JSON under /_sscstub/. No authentication: loopback only.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind")
    serve.add_argument("--port", type=_port, default=4599, help="port; 0 picks a free one")
    serve.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="NAME",
        help="a Host name besides loopback's that requests may carry (repeatable)",
    )
    serve.add_argument(
        "--max-calls", type=int, default=10_000, help="calls the log keeps (the most recent)"
    )
    serve.add_argument(
        "--idle-timeout",
        type=float,
        default=5.0,
        help="seconds an idle connection or an unfinished request is kept",
    )
    from ._options import Options  # the options' flags are made from their declaration

    for name, doc in Options.documented():
        if doc.serve and doc.switch:
            serve.add_argument(
                doc.flag(name), dest=name, action="store_const", const=True, help=doc.help
            )
        elif doc.serve:
            serve.add_argument(doc.flag(name), dest=name, type=doc.parse, help=doc.help)
    serve.add_argument(
        "--create-repos",
        action="store_true",
        help="a git push to a repository at /v1/repos/NAME that does not exist creates it",
    )
    serve.add_argument("--verbose", action="store_true", help="log each request to stderr")
    return top


def banner(url: str) -> str:
    """How clients reach the endpoint: the flag every AWS CLI and SDK takes, then the variable,
    which AWS CLI v2 reads only from 2.13 (an older one would call real IAM): the line to
    paste says so itself."""
    return (
        f"sscstub serving IAM at {url}\n"
        f"  every AWS CLI and SDK:  aws iam ... --endpoint-url {url}\n"
        f"export AWS_ENDPOINT_URL_IAM={url}"
        "  # AWS CLI v1, v2 from 2.13, the SDKs; an older v2 ignores it: use --endpoint-url"
    )


class _Defaults(argparse.ArgumentDefaultsHelpFormatter):
    """Every flag's help ends with its default ("none" or "off" where there is none)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text or not action.option_strings or action.dest == "help":
            return text
        value = action.default
        if action.nargs == 0:
            value = "on" if value else "off"
        elif value in (None, [], ()):
            value = "none"
        return f"{text} (default: {value})"


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from ._options import Options
    from ._server import serve  # the server's imports only when serving

    options: dict[str, Any] = {
        name: getattr(args, name)
        for name, doc in Options.documented()
        if doc.serve and getattr(args, name) is not None
    }
    from ._server import is_loopback

    if args.host and not is_loopback(args.host):
        print(
            f"sscstub: warning: --host {args.host} makes the endpoint reachable from other"
            " machines; it has no authentication, so anyone who reaches it can read and change"
            " its credentials.",
            file=sys.stderr,
        )
    try:
        server = serve(
            host=args.host,
            port=args.port,
            verbose=args.verbose,
            allow_hosts=args.allow_host,
            max_calls=args.max_calls,
            idle_timeout=args.idle_timeout,
            create_repos=args.create_repos,
            **options,
        )
    except (SscStubError, OSError) as error:
        print(f"sscstub: {error}", file=sys.stderr)
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    with server:
        print(banner(server.url))
        print("sscstub: ready (Ctrl-C stops)", flush=True)
        while not stop.wait(0.5):
            pass
    print("sscstub: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
