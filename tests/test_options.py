"""`Options`: one declaration of what a stub is configured with, shared by every front end."""

from __future__ import annotations

import dataclasses
import inspect
import re

import pytest

import sscstub
from sscstub import DEFAULT_SERVICES, Call, Credential, Options, SscStubError


def test_public_types_are_importable_from_the_package() -> None:
    assert sscstub.DEFAULT_SERVICES is DEFAULT_SERVICES
    assert DEFAULT_SERVICES["bedrock.amazonaws.com"] == "api-key"
    assert dataclasses.is_dataclass(Credential) and dataclasses.is_dataclass(Call)
    assert set(sscstub.__all__) >= {"Credential", "Call", "DEFAULT_SERVICES", "Options"}
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        sscstub.Nope  # noqa: B018


def test_the_stub_signature_and_the_options_dataclass_agree() -> None:
    """A new option is a field of Options and a parameter of SSCStub, with the same default."""
    parameters = inspect.signature(sscstub.SSCStub).parameters
    fields = {f.name: f for f in dataclasses.fields(Options)}
    assert list(parameters) == list(fields)
    assert all(p.kind is p.KEYWORD_ONLY for p in parameters.values())
    for name, parameter in parameters.items():
        field = fields[name]
        default = field.default_factory() if callable(field.default_factory) else field.default
        # None where the dataclass resolves the default itself (DEFAULT_SERVICES, the account).
        assert parameter.default == default or (
            name in ("services", "account_id") and parameter.default is None
        )


def test_mock_ssc_is_the_class_and_keeps_its_validated_options() -> None:
    stub = sscstub.mock_ssc(users=iter(["jane"]), seed=3)
    assert isinstance(stub, sscstub.SSCStub) and sscstub.mock_ssc is sscstub.SSCStub
    assert stub.options == Options(users=("jane",), seed=3)
    assert stub.options.services == DEFAULT_SERVICES
    with pytest.raises(dataclasses.FrozenInstanceError):
        stub.options.strict = False  # type: ignore[misc]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"users": "jane"}, "single string"),
        ({"users": ["a b"]}, "not a user name"),
        ({"caller": ""}, "not a user name"),
        ({"account_id": "12345678901"}, "not an AWS account id"),
        ({"account_id": "١٢٣٤٥٦٧٨٩٠١٢"}, "not an AWS account id"),
        ({"seed": 1.5}, "cannot seed"),
        ({"services": {"x.amazonaws.com": "token"}}, "must be"),
        ({"services": {"x_y.amazonaws.com": "password"}}, "IAM would refuse"),
        ({"services": {"": "password"}}, "IAM would refuse"),
    ],
)
def test_options_refuse_what_iam_or_sscstub_cannot_use(options: dict, message: str) -> None:
    with pytest.raises(SscStubError, match=message):
        Options(**options)


def test_stub_options_the_typed_dict_lists_every_option() -> None:
    """`StubOptions` (what `serve(**options)` takes; declared for type checkers only) names the
    same options as Options, in the same order."""
    from sscstub import _options

    body = inspect.getsource(_options).split("class StubOptions")[1].split('"""')[2]
    declared = re.findall(r"^        (\w+): ", body.split("\n\n\n")[0], re.M)
    assert declared == [f.name for f in dataclasses.fields(Options)]


def test_every_text_front_end_is_made_from_the_options() -> None:
    """`sscstub serve` has a flag and the AWS CLI plugin a variable for every option they take,
    and the marker's help names every option."""
    from sscstub import _cli, awscli
    from sscstub.plugin import pytest_configure

    flags = {a.dest for a in _cli.parser()._subparsers._group_actions[0].choices["serve"]._actions}  # type: ignore[union-attr]
    lines: list[str] = []
    pytest_configure(type("Config", (), {"addinivalue_line": lambda _, k, v: lines.append(v)})())  # type: ignore[arg-type]
    for name, doc in Options.documented():
        assert (name in flags) == doc.serve, name
        assert name in lines[0]
        if doc.plugin:
            assert awscli.options_from_environment({doc.variable(name): "x"}) is not None
    env = {
        "SSCSTUB_USERS": "jane, bob",
        "SSCSTUB_STRICT": "0",
        "SSCSTUB_SERVICES": "a.amazonaws.com=api-key,b.amazonaws.com",
    }
    assert awscli.options_from_environment(env) == {
        "users": ["jane", "bob"],
        "strict": False,
        "services": {"a.amazonaws.com": "api-key", "b.amazonaws.com": "password"},
    }


def test_serve_and_the_plugin_take_the_account_from_moto_account_id(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sscstub import _cli, awscli

    monkeypatch.setenv("MOTO_ACCOUNT_ID", "111122223333")
    args = _cli.parser().parse_args(["serve", "--port", "0"])
    assert args.account_id is None  # Options decides, as for mock_ssc
    assert sscstub.SSCStub(**awscli.options_from_environment({})).account_id == "111122223333"
    with sscstub.serve() as server:
        assert server.account_id == "111122223333"


def test_service_names_in_options_are_read_without_regard_to_case() -> None:
    options = Options(services={"New.AmazonAWS.com": "api-key"})
    assert dict(options.services) == {"new.amazonaws.com": "api-key"}
