"""An AWS CLI plugin: ``aws iam ...-service-specific-credential(s)`` answered by sscstub, in the
CLI's own process, with no server.

Configure it in the CLI's config file (``~/.aws/config`` or ``AWS_CONFIG_FILE``)::

    [plugins]
    cli_legacy_plugin_path = /path/to/the/directory/holding/sscstub   # CLI v2 only
    sscstub = sscstub.awscli

(CLI v1: leave out ``cli_legacy_plugin_path``; put sscstub on ``PYTHONPATH`` or install it in
the CLI's environment.) Options come from environment variables: ``SSCSTUB_USERS`` (comma-
separated), ``SSCSTUB_ACCOUNT_ID``, ``SSCSTUB_CALLER``, ``SSCSTUB_SEED``, ``SSCSTUB_SERVICES``
(``name=password|api-key,...``), ``SSCSTUB_STRICT`` (``0`` lets other IAM commands reach AWS)
and ``SSCSTUB_STATE``: a SQLite file that keeps the state from one ``aws`` invocation to the next
(each is a new process), the same file ``sscstub serve --state`` uses.
"""

from __future__ import annotations

import atexit
import os
from collections.abc import Mapping
from typing import Any

from ._stub import SSCStub


def options_from_environment(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The stub's options from the ``SSCSTUB_*`` variables set (made from `Options`' fields)."""
    from ._options import Options, check_keywords

    env = os.environ if environ is None else environ
    variables = {doc.variable(name): name for name, doc in Options.documented() if doc.plugin}
    check_keywords(
        "The sscstub AWS CLI plugin", [v for v in env if v.startswith("SSCSTUB_")], variables
    )
    texts = {name: env[variable] for variable, name in variables.items() if env.get(variable)}
    return Options.from_text(texts)


def awscli_initialize(cli: Any) -> None:
    """Called by the AWS CLI with its session's event emitter: serve IAM from a stub attached
    to it (clients the CLI makes copy the session's handlers), for this invocation."""
    from . import _hooks
    from ._errors import SscStubError

    try:
        stub = SSCStub(**options_from_environment())
    except SscStubError as error:  # one line, not a traceback, before the CLI does anything
        raise SystemExit(f"sscstub (AWS CLI plugin): {error}") from None
    stub.attach(cli)
    # The CLI's clients all copy this session's emitter, attached above: no need to look for
    # other emitters (a pass over every object of the CLI's process).
    _hooks.skip_existing_emitters()
    stub.start()
    atexit.register(stub.stop)
