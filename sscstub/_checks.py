"""botocore shapes compiled into straight-line Python checks, once per process.

Every served response is checked against every constraint its output shape states, and every
request against its input shape, so the checks sit on the hot path: a closure per member costs a
call per field, while generated code costs a comparison. The generated source is kept on each
function (``__source__``) for debugging.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Callable

from botocore.model import ListShape, Shape, StructureShape

OutputCheck = Callable[[Any], "tuple[str, str] | None"]
InputReader = Callable[[Any], "tuple[dict[str, Any], list[str] | tuple[()]]"]


def pattern_of(shape: Shape) -> re.Pattern[str] | None:
    # AWS patterns are Java regexes, where \w is ASCII-only.
    pattern = shape.metadata.get("pattern")
    return re.compile(pattern, re.ASCII) if pattern is not None else None


class _Source:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.namespace: dict[str, Any] = {"_MISSING": _MISSING, "_datetime": datetime}

    def matcher(self, pattern: re.Pattern[str], value: str = "x") -> str:
        """An expression that is True when ``value`` matches. A regex run costs ~0.3 us, so the
        strings already accepted (ids, names: they repeat) are remembered, up to a bound."""
        accepted: set[str] = set()
        fullmatch = pattern.fullmatch

        def matches(value: str) -> bool:
            if fullmatch(value) is None:
                return False
            if len(accepted) >= 4096:
                accepted.clear()
            accepted.add(value)
            return True

        return f"({value} in {self.const(accepted)} or {self.const(matches)}({value}))"

    def const(self, value: Any) -> str:
        name = f"_c{len(self.namespace)}"
        self.namespace[name] = value
        return name

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)

    def build(self, name: str) -> Any:
        source = "\n".join(self.lines)
        exec(compile(source, f"<sscstub check {name}>", "exec"), self.namespace)
        function = self.namespace[name]
        function.__source__ = source
        return function


class _Missing:
    __slots__ = ()


_MISSING = _Missing()


# --- output: returns None, or (path, problem) -----------------------------------------------------


def output_check(shape: StructureShape | None) -> OutputCheck:
    src = _Source()
    if shape is None:
        src.emit(0, "def check(v):")
        src.emit(1, "if v: return ('', 'no output is modeled, yet it holds ' + repr(sorted(v)))")
        src.emit(1, "return None")
        return src.build("check")  # type: ignore[no-any-return]
    done: dict[str, str] = {}
    top = _structure(src, shape, done)
    src.emit(0, f"check = {top}")
    return src.build("check")  # type: ignore[no-any-return]


def _structure(src: _Source, shape: StructureShape, done: dict[str, str]) -> str:
    if shape.name in done:
        return done[shape.name]
    name = done[shape.name] = f"check_{shape.name}"
    nested = {
        member: _structure(src, sub, done) if isinstance(sub, StructureShape) else None
        for member, sub in shape.members.items()
    }
    for member, sub in shape.members.items():  # list items that are structures
        if isinstance(sub, ListShape) and isinstance(sub.member, StructureShape):
            nested[member] = _structure(src, sub.member, done)
    known = src.const(frozenset(shape.members))
    src.emit(0, f"def {name}(v):")
    src.emit(1, "if type(v) is not dict:")
    src.emit(2, f"return ('', 'expected a dict for {shape.name}, got ' + type(v).__name__)")
    src.emit(1, "n = 0")
    for member, sub in shape.members.items():
        src.emit(1, f"x = v.get({member!r}, _MISSING)")
        if member in shape.required_members:
            src.emit(1, f"if x is _MISSING: return ('', 'required member {member} is missing')")
            src.emit(1, "if True:")
        else:
            src.emit(1, "if x is not _MISSING:")
        src.emit(2, "n += 1")
        _value(src, sub, member, nested.get(member), 2)
    src.emit(1, "if n != len(v):")
    src.emit(2, f"return ('', 'not members of {shape.name}: ' + repr(sorted(set(v) - {known})))")
    src.emit(1, "return None")
    return name


def _value(src: _Source, shape: Shape, member: str, nested: str | None, indent: int) -> None:
    def fail(problem: str) -> None:
        src.emit(indent + 1, f"return ('.{member}', {problem})")

    meta = shape.metadata
    if isinstance(shape, StructureShape):
        src.emit(indent, f"r = {nested}(x)")
        src.emit(indent, f"if r is not None: return ('.{member}' + r[0], r[1])")
    elif isinstance(shape, ListShape):
        src.emit(indent, "if type(x) is not list:")
        fail("'expected a list, got ' + type(x).__name__")
        src.emit(indent, "for i, item in enumerate(x):")
        if nested is None:
            raise NotImplementedError("sscstub checks lists of structures only")
        src.emit(indent + 1, f"r = {nested}(item)")
        src.emit(indent + 1, f"if r is not None: return ('.{member}[' + str(i) + ']' + r[0], r[1])")
    elif shape.type_name == "string":
        src.emit(indent, "if type(x) is not str:")
        fail("'expected str, got ' + type(x).__name__")
        low, high = meta.get("min", 0), meta.get("max")
        if low or high is not None:
            bounds = f"{low} <= len(x)" + (f" <= {high}" if high is not None else "")
            src.emit(indent, f"if not ({bounds}):")
            fail(f"'length ' + str(len(x)) + ' is outside {low}..{high}'")
        pattern = pattern_of(shape)
        if pattern is not None:
            src.emit(indent, f"if not {src.matcher(pattern)}:")
            fail(f"'does not match ' + {pattern.pattern!r}")
        if "enum" in meta:
            src.emit(indent, f"if x not in {src.const(frozenset(meta['enum']))}:")
            fail(f"repr(x) + ' is not one of ' + {sorted(meta['enum'])!r}.__repr__()")
    elif shape.type_name == "timestamp":
        src.emit(indent, "if not isinstance(x, _datetime) or x.tzinfo is None or x.microsecond:")
        fail("'expected a whole-second aware datetime, got ' + repr(x)")
    elif shape.type_name == "boolean":
        src.emit(indent, "if type(x) is not bool:")
        fail("'expected bool, got ' + type(x).__name__")
    else:
        raise NotImplementedError(
            f"sscstub cannot check IAM output members of type {shape.type_name}"
        )


# --- input: IAM's server-side validation messages -------------------------------------------------

_NOT_NULL = "Member must not be null"


def input_reader(shape: StructureShape, custom_pattern: frozenset[str]) -> InputReader:
    """A function from the query body botocore serialised to ``(params, problems)``: the API
    parameters typed as the model says, and IAM's constraint messages (empty when valid).

    It reads what goes on the wire, so clients with ``parameter_validation=False`` get IAM's
    answers; a value that does not parse is kept as it is, and a problem reports it. Members in
    ``custom_pattern`` skip the pattern check: IAM checks them later with its own text.
    """
    src = _Source()
    src.namespace["_integer"] = re.compile(r"[+-]?[0-9]+").fullmatch
    src.emit(0, "def read(b):")
    src.emit(1, "p = {}")
    src.emit(1, "out = ()")
    for member, sub in shape.members.items():
        camel = member[0].lower() + member[1:]
        src.emit(1, f"x = b.get({member!r})")
        src.emit(1, "if x is None:")
        if member in shape.required_members:
            message = f"Value null at '{camel}' failed to satisfy constraint: {_NOT_NULL}"
            src.emit(2, f"out = [*out, {message!r}]")
        else:
            src.emit(2, "pass")
        src.emit(1, "else:")
        kind = sub.type_name
        if kind == "string":
            src.emit(2, "if type(x) is not str: x = str(x)")
        elif kind == "integer":
            src.emit(2, "if type(x) is str and _integer(x): x = int(x)")
        elif kind == "boolean":
            src.emit(2, "x = True if x == 'true' else False if x == 'false' else x")
        src.emit(2, f"p[{member!r}] = x")
        for test, problem in _input_tests(src, sub, member in custom_pattern):
            src.emit(2, f"if {test}:")
            message = f"Value at '{camel}' failed to satisfy constraint: Member must {problem}"
            src.emit(3, f"out = [*out, {message!r}]")
    src.emit(1, "return p, out")
    return src.build("read")  # type: ignore[no-any-return]


def _input_tests(src: _Source, shape: Shape, skip_pattern: bool) -> list[tuple[str, str]]:
    meta = shape.metadata
    kind = shape.type_name
    if kind == "string":
        tests = [("type(x) is not str", "be a string")]
        guard = "type(x) is str and "
        if "min" in meta:
            tests.append(
                (
                    f"{guard}len(x) < {meta['min']}",
                    f"have length greater than or equal to {meta['min']}",
                )
            )
        if "max" in meta:
            tests.append(
                (
                    f"{guard}len(x) > {meta['max']}",
                    f"have length less than or equal to {meta['max']}",
                )
            )
        pattern = pattern_of(shape)
        if pattern is not None and not skip_pattern:
            test = f"{guard}not {src.matcher(pattern)}"
            tests.append(
                (
                    test,
                    f"satisfy regular expression pattern: {meta['pattern']}",
                )
            )
        if "enum" in meta:
            tests.append(
                (f"{guard}x not in {src.const(frozenset(meta['enum']))}", "satisfy enum value set")
            )
        return tests
    if kind == "integer":
        number = "(type(x) is int)"
        tests = [(f"not {number}", "be a number")]
        if "min" in meta:
            tests.append(
                (
                    f"{number} and x < {meta['min']}",
                    f"have value greater than or equal to {meta['min']}",
                )
            )
        if "max" in meta:
            tests.append(
                (
                    f"{number} and x > {meta['max']}",
                    f"have value less than or equal to {meta['max']}",
                )
            )
        return tests
    if kind == "boolean":
        return [("type(x) is not bool", "be a boolean")]
    raise NotImplementedError(f"sscstub cannot check IAM input members of type {kind}")
