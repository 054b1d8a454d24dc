"""The compiled model: output checks, errors, and answers shaped by an older client's model."""

from __future__ import annotations

import functools
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from conftest import create_credential, make_client

import sscstub
from sscstub._model import ModelViolation, OperationSpec, iam

CC = "codecommit.amazonaws.com"


BEDROCK = "bedrock.amazonaws.com"


_NEWER = {
    "ServiceSpecificCredential": [
        "ExpirationDate",
        "ServiceCredentialAlias",
        "ServiceCredentialSecret",
    ],
    "ServiceSpecificCredentialMetadata": ["ExpirationDate", "ServiceCredentialAlias"],
    "ListServiceSpecificCredentialsResponse": ["Marker", "IsTruncated"],
    "CreateServiceSpecificCredentialRequest": ["CredentialAgeDays"],
    "ListServiceSpecificCredentialsRequest": ["AllUsers", "Marker", "MaxItems"],
}


def old_model_client(tmp_path: Path) -> Any:
    """A real botocore client whose IAM model lacks what the 2025-06 release added, as older
    botocore's (aiobotocore 2.23's 1.38, the AWS CLI v2's bundled one) do."""
    import botocore.session

    current = botocore.session.get_session().get_component("data_loader")
    model = json.loads(json.dumps(current.load_service_model("iam", "service-2")))
    for shape, members in _NEWER.items():
        for member in members:
            model["shapes"][shape]["members"].pop(member)
    model["shapes"]["ServiceSpecificCredential"]["required"] += ["ServiceUserName"]
    target = tmp_path / "models" / "iam" / "2010-05-08"
    target.mkdir(parents=True)
    (target / "service-2.json").write_text(json.dumps(model))
    session = botocore.session.get_session()  # a fresh loader, which reads the file above
    session.get_component("data_loader").search_paths.insert(0, str(tmp_path / "models"))
    return session.create_client(
        "iam", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )


def test_an_older_models_client_gets_only_the_members_its_model_defines(tmp_path: Path) -> None:
    old = old_model_client(tmp_path)
    with sscstub.mock_ssc(users=["jane"]) as stub:
        key = create_credential(old, service=BEDROCK)
        assert set(key) == {"CreateDate", "ServiceName", "ServiceSpecificCredentialId"} | {
            "UserName",
            "Status",
        }
        listed = old.list_service_specific_credentials(UserName="jane")
        assert "IsTruncated" not in listed and len(listed["ServiceSpecificCredentials"]) == 1
        git = create_credential(old)
        assert git["ServiceUserName"] == "jane-at-123456789012" and git["ServicePassword"]
        new = make_client()  # a current client in the same process still gets everything
        assert new.list_service_specific_credentials(UserName="jane")["IsTruncated"] is False
        assert [c.error_code for c in stub.calls] == [None] * 4


def check_output(spec: OperationSpec, body: object) -> None:
    """Raise ModelViolation when ``body`` breaks the model (as the engine does)."""
    broken = spec.find_problem(body)
    if broken is not None:
        raise ModelViolation(broken[0] or "<root>", broken[1])


GOOD = {
    "CreateDate": datetime(2026, 1, 1, tzinfo=timezone.utc),
    "ServiceName": "s",
    "ServiceSpecificCredentialId": "ACCA" + "A" * 17,
    "UserName": "u",
    "Status": "Active",
}


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"Status": "Bogus"}, ".ServiceSpecificCredential.Status"),
        ({"ServiceSpecificCredentialId": "short"}, ".ServiceSpecificCredentialId"),
        ({"ServiceUserName": "x" * 201}, ".ServiceUserName"),
        ({"ServiceCredentialAlias": "bad alias"}, ".ServiceCredentialAlias"),
        ({"CreateDate": "2026-01-01T00:00:00Z"}, ".CreateDate"),
        ({"CreateDate": datetime(2026, 1, 1)}, ".CreateDate"),
        ({"CreateDate": datetime(2026, 1, 1, 0, 0, 0, 5, tzinfo=timezone.utc)}, ".CreateDate"),
        ({"Unexpected": 1}, "<root>" if False else ".ServiceSpecificCredential"),
        ({"UserName": None}, ".UserName"),
    ],
)
def test_output_checks_catch_every_model_violation(change: dict[str, Any], where: str) -> None:
    check = functools.partial(check_output, iam().operations["CreateServiceSpecificCredential"])
    check({"ServiceSpecificCredential": GOOD})
    with pytest.raises(ModelViolation, match="breaks botocore's IAM model") as caught:
        check({"ServiceSpecificCredential": {**GOOD, **change}})
    assert where in str(caught.value)


def test_output_checks_cover_lists_booleans_and_empty_outputs() -> None:
    ops = iam().operations
    with pytest.raises(ModelViolation, match=r"\.ServiceSpecificCredentials\[0\]"):
        check_output(ops["ListServiceSpecificCredentials"], {"ServiceSpecificCredentials": [{}]})
    for flag, kind in ((1, "int"), ("false", "str")):  # a bool's text is not a bool
        with pytest.raises(ModelViolation, match=f"IsTruncated.*expected bool, got {kind}"):
            check_output(
                ops["ListServiceSpecificCredentials"],
                {"ServiceSpecificCredentials": [], "IsTruncated": flag},
            )
    with pytest.raises(ModelViolation, match="no output is modeled"):
        check_output(ops["UpdateServiceSpecificCredential"], {"Surprise": 1})
    check_output(ops["UpdateServiceSpecificCredential"], {})


def test_model_knows_every_modeled_error_and_the_common_ones() -> None:
    errors = iam().errors
    assert (errors["NotSupportedService"].status, errors["LimitExceeded"].status) == (404, 409)
    assert errors["ServiceFailure"].type == "Receiver" and errors["ServiceFailure"].retryable
    assert errors["Throttling"].retryable and not errors["LimitExceeded"].retryable
    assert (
        iam().operation("reset_service_specific_credential")
        is iam().operations["ResetServiceSpecificCredential"]
    )
    assert iam().operation("get_user") is None


def test_remembered_list_members_still_fail_when_anything_changes() -> None:
    """A member dict equal to one that passed is skipped; any change, even an unhashable value,
    goes through the full check."""
    check = functools.partial(check_output, iam().operations["ListServiceSpecificCredentials"])
    good = {
        "UserName": "jane",
        "Status": "Active",
        "ServiceUserName": "jane-at-123456789012",
        "CreateDate": datetime(2026, 1, 1, tzinfo=timezone.utc),
        "ServiceSpecificCredentialId": "ACCA" + "A" * 17,
        "ServiceName": "codecommit.amazonaws.com",
    }
    for _ in range(2):  # the second time from memory
        check({"ServiceSpecificCredentials": [dict(good)], "IsTruncated": False})
    for change, where in [
        ({"Status": "Paused"}, ".Status"),
        ({"UserName": ["jane"]}, ".UserName"),
        ({"CreateDate": datetime(2026, 1, 1)}, ".CreateDate"),
        ({"ServiceSpecificCredentialId": "short"}, ".ServiceSpecificCredentialId"),
    ]:
        with pytest.raises(ModelViolation, match=rf"\[0\]{where}"):
            check({"ServiceSpecificCredentials": [{**good, **change}], "IsTruncated": False})


def test_the_wire_reader_types_values_as_iam_reads_them() -> None:
    """What a raw request carries is text: ``true``/``false`` are booleans, anything else is
    not; digits are numbers; a number where a string goes is read as its text."""
    read = iam().operations["ListServiceSpecificCredentials"].read
    for text, flag in (("true", True), ("false", False)):
        params, problems = read({"AllUsers": text, "MaxItems": "5"})
        assert (params, list(problems)) == ({"AllUsers": flag, "MaxItems": 5}, [])
    params, problems = read({"AllUsers": "yes", "UserName": 12})
    assert params == {"AllUsers": "yes", "UserName": "12"}
    assert list(problems) == [
        "Value at 'allUsers' failed to satisfy constraint: Member must be a boolean"
    ]


def test_shapes_the_iam_model_never_has_are_refused_loudly() -> None:
    """If a later IAM model used a shape sscstub cannot check, compiling it fails at once
    rather than letting answers through unchecked."""
    from botocore.model import ShapeResolver

    from sscstub._checks import input_reader, output_check

    shapes = ShapeResolver(
        {
            "Names": {"type": "structure", "members": {"List": {"shape": "NameList"}}},
            "NameList": {"type": "list", "member": {"shape": "Name"}},
            "Name": {"type": "string"},
            "Count": {"type": "structure", "members": {"N": {"shape": "Long"}}},
            "Long": {"type": "long"},
            "Upload": {"type": "structure", "members": {"Data": {"shape": "Blob"}}},
            "Blob": {"type": "blob"},
        }
    )
    with pytest.raises(NotImplementedError, match="lists of structures only"):
        output_check(shapes.get_shape_by_name("Names"))
    with pytest.raises(NotImplementedError, match="output members of type long"):
        output_check(shapes.get_shape_by_name("Count"))
    read = input_reader(shapes.get_shape_by_name("Upload"), frozenset())
    with pytest.raises(NotImplementedError, match="input members of type blob"):
        read({"Data": "x"})


@pytest.mark.skipif(
    "MUTANT_UNDER_TEST" in __import__("os").environ,
    reason="reads sscstub's source, which mutmut has rewritten with every mutant in it",
)
def test_every_error_code_sscstub_answers_is_in_the_model() -> None:
    """The engine looks each code up in the model (no fallback): every code an operation or
    the engine raises is one of IAM's errors or a common AWS one, in every model served."""
    import ast
    from pathlib import Path

    codes = {"NoSuchEntity", "ServiceUnavailable"}  # UnknownUser's, StateUnavailable's
    for path in (Path(__file__).parents[1] / "sscstub").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "AwsError":
                first = node.args[0] if node.args else None
                if isinstance(first, ast.Constant):
                    codes.add(first.value)
    assert {"LimitExceeded", "ValidationError", "InvalidInput", "DeleteConflict"} <= codes
    assert codes <= set(iam(None).errors)
