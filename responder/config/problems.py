"""Turning pydantic's validation errors into located ConfigProblems an admin can act on."""

from __future__ import annotations

import json
import types
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Le
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from responder.config.yamlload import KeyPath, Marks, format_path
from responder.errors import ConfigProblem

# Keys never echoed back: an admin may have typed the secret itself into any of them.
_SECRET_KEYS = frozenset({"password", "password_file", "password_env"})
_INT_ERRORS = frozenset(
    {"int_type", "int_parsing", "int_from_float", "greater_than_equal", "less_than_equal"}
)


@dataclass(frozen=True)
class ConfigSource:
    """Which file a Config came from and where its keys sit; never part of equality."""

    filename: str = field(default="<config>", compare=False)
    marks: Marks = field(default_factory=Marks, compare=False, repr=False)

    def problem(self, path: KeyPath, message: str, *, at_key: bool = False) -> ConfigProblem:
        """A problem located at path's value (or at its key, for unknown keys)."""
        return self.problem_at(path, format_path(path), message, at_key=at_key)

    def problem_at(
        self, where: KeyPath, shown: str, message: str, *, at_key: bool = False
    ) -> ConfigProblem:
        """A problem positioned at where but naming shown (a parent, for key errors)."""
        pos = self.marks.key(where) if at_key else self.marks.value(where)
        line, column = pos if pos is not None else (None, None)
        return ConfigProblem(self.filename, line, column, shown, message)


@dataclass(frozen=True)
class _Target:
    path: KeyPath  # pydantic's loc without discriminated-union tags, i.e. the YAML path
    owner: type[BaseModel] | None  # the model whose key the last part is
    info: FieldInfo | None
    annotation: Any


def _unwrap(tp: Any) -> tuple[Any, str | None]:
    """Strip Annotated and Optional; report a discriminator if one was attached."""
    discriminator = None
    while True:
        if get_origin(tp) is Annotated:
            for meta in get_args(tp)[1:]:
                if isinstance(meta, FieldInfo) and isinstance(meta.discriminator, str):
                    discriminator = meta.discriminator
            tp = get_args(tp)[0]
        elif get_origin(tp) in (Union, types.UnionType):
            members = [a for a in get_args(tp) if a is not type(None)]
            if len(members) != 1:
                return tp, discriminator
            tp = members[0]
        else:
            return tp, discriminator


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _follow(root: type[BaseModel], loc: tuple[int | str, ...]) -> _Target:
    tp: Any = root
    path: list[str | int] = []
    owner: type[BaseModel] | None = None
    info: FieldInfo | None = None
    for part in loc:
        tp, discriminator = _unwrap(tp)
        if discriminator is not None and isinstance(part, str):
            options = get_args(tp) if get_origin(tp) in (Union, types.UnionType) else (tp,)
            tags = {m: get_args(m.model_fields[discriminator].annotation) for m in options}
            tp = next((m for m, values in tags.items() if part in values), None)
            continue  # the tag names the union member; the YAML has no such key
        path.append(part)
        if _is_model(tp) and isinstance(part, str):
            owner, info = tp, tp.model_fields.get(part)
            tp = info.annotation if info is not None else None
        elif get_origin(tp) in (tuple, list) and isinstance(part, int):
            owner, info, tp = None, None, get_args(tp)[0]
        else:
            owner, info, tp = None, None, None
    return _Target(tuple(path), owner, info, tp)


def _show(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, str):
        return json.dumps(value if len(value) <= 60 else value[:57] + "...", ensure_ascii=False)
    return str(value)


def _int_range(info: FieldInfo | None) -> str:
    low = high = None
    for meta in info.metadata if info is not None else ():
        if isinstance(meta, Ge):  # the config models only bound integers inclusively
            low = meta.ge
        elif isinstance(meta, Le):
            high = meta.le
    if low is not None and high is not None:
        return f"an integer {low}-{high}"
    if low is not None or high is not None:
        return f"an integer >= {low}" if low is not None else f"an integer <= {high}"
    return "an integer"


def _describe(err: ErrorDetails, target: _Target, got: str) -> str:
    kind, ctx = err["type"], err.get("ctx", {})
    if kind in _INT_ERRORS:
        return f"expected {_int_range(target.info)}, got {got}"
    if kind in ("bool_type", "bool_parsing"):
        return f"expected true or false, got {got}"
    if kind == "string_type":
        hint = " (put it in quotes)" if isinstance(err["input"], int | float) else ""
        return f"expected text, got {got}{hint}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "literal_error":
        options = get_args(target.annotation) if get_origin(target.annotation) is Literal else ()
        expected = ", ".join(map(str, options)) or str(ctx.get("expected"))
        return f"expected one of {expected}, got {got}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"expected a mapping of keys and values, got {got}"
    if kind in ("tuple_type", "list_type"):
        return f"expected a list, got {got}"
    if kind == "too_short":
        n, actual = ctx.get("min_length", 1), ctx.get("actual_length")
        return f"expected at least {n} entr{'y' if n == 1 else 'ies'}, got {actual or 'none'}"
    if kind == "path_type":
        return f"expected a file or folder path, got {got}"
    return f"{err['msg']}, got {got}"


def _problem(err: ErrorDetails, root: type[BaseModel], source: ConfigSource) -> ConfigProblem:
    kind, ctx = err["type"], err.get("ctx", {})
    target = _follow(root, err["loc"])
    path = written((*target.path, *ctx.get("at", ())), source)
    secret = any(part in _SECRET_KEYS for part in path)
    got = "a value that is not shown" if secret else _show(err["input"])
    if "at" in ctx:  # one of our own PydanticCustomErrors: its message is already written
        # With a non-empty "at" the input is the enclosing mapping, not the offending value.
        show = ctx.get("show_input") and not ctx["at"] and not secret
        return source.problem(path, err["msg"] + (f", got {got}" if show else ""))
    if kind in ("missing", "extra_forbidden", "invalid_key") and path:
        parent, name = path[:-1], path[-1]
        if kind == "missing":
            return source.problem_at(parent, format_path(parent), f'missing required key "{name}"')
        if kind == "invalid_key":
            return source.problem_at(path, format_path(parent), f"keys must be text, got {got}")
        # The fields a secret is read into are never written in the file.
        secret_fields = ("password", "database_password")
        owner = target.owner
        known = [k for k in owner.model_fields if k not in secret_fields] if owner else []
        message = f'unknown key "{name}"'
        if known:
            message += f" (expected one of: {', '.join(known)})"
        return source.problem_at(path, format_path(parent), message, at_key=True)
    if kind == "union_tag_not_found":
        key = str(ctx.get("discriminator", "type")).strip("'")
        return source.problem(path, f'missing required key "{key}"')
    if kind == "union_tag_invalid":
        key = str(ctx.get("discriminator", "type")).strip("'")
        expected = str(ctx.get("expected_tags", "")).replace("'", "")
        return source.problem((*path, key), f"expected one of {expected}, got {_show(ctx['tag'])}")
    return source.problem(path, _describe(err, target, got))


def written(path: KeyPath, source: ConfigSource) -> KeyPath:
    """Where the admin wrote a key a provider preset copied (channels[0].imap.password_file
    comes from channels[0].password_file): problems are reported there."""
    values = source.marks.values
    if len(path) >= 4 and path[2] in ("imap", "smtp") and path not in values:
        shorter = (*path[:2], *path[3:])
        if shorter in values:
            return shorter
    return path


def problems_from(
    exc: ValidationError, root: type[BaseModel], source: ConfigSource
) -> list[ConfigProblem]:
    """Every error in exc as a ConfigProblem at its YAML position, in file order."""
    errors = exc.errors(include_url=False)

    def inside(err: ErrorDetails) -> bool:
        loc = err["loc"]
        return any(len(o["loc"]) > len(loc) and o["loc"][: len(loc)] == loc for o in errors)

    # "too short after validation" only echoes the item errors that caused it.
    problems = [
        _problem(e, root, source) for e in errors if not (e["type"] == "too_short" and inside(e))
    ]
    # dict.fromkeys: a shared key's problem (a preset's password_file) is listed once.
    return sorted(dict.fromkeys(problems), key=lambda p: (p.line or 0, p.column or 0))
