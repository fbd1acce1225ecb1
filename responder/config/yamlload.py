"""A strict YAML loader for admin-written files: YAML 1.2 scalars, no duplicate keys, positions."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from responder.errors import ConfigError, ConfigProblem

KeyPath = tuple[str | int, ...]
Position = tuple[int, int]  # (line, column), both 1-based

# YAML 1.1 resolvers that surprise admins: "yes"/"on" become booleans, "9:30" becomes 570,
# "2024-01-02" becomes a date and "<<" merges mappings. Only YAML 1.2 core forms stay implicit.
_DROPPED_TAGS = {
    f"tag:yaml.org,2002:{name}" for name in ("bool", "int", "float", "timestamp", "merge", "value")
}
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT = re.compile(
    r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
)


class StrictLoader(yaml.SafeLoader):
    """SafeLoader with the YAML 1.2 core schema's implicit types."""


StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in _DROPPED_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
StrictLoader.add_implicit_resolver("tag:yaml.org,2002:bool", _BOOL, list("tTfF"))
StrictLoader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))
StrictLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


def _scalar(loader: StrictLoader, node: Node, pattern: re.Pattern[str], kind: str) -> str:
    # Explicit tags (!!int 9:30) reach the constructor without passing the resolver's regex.
    value = loader.construct_scalar(node)  # type: ignore[arg-type]
    if not isinstance(value, str) or not pattern.match(value):
        raise yaml.constructor.ConstructorError(
            None, None, f"invalid {kind} {value!r}", node.start_mark
        )
    return value


def _construct_bool(loader: StrictLoader, node: Node) -> bool:
    return _scalar(loader, node, _BOOL, "boolean").lower() == "true"


def _construct_int(loader: StrictLoader, node: Node) -> int:
    value = _scalar(loader, node, _INT, "integer")
    # YAML 1.2: "010" is ten, not octal eight.
    if value.startswith(("0o", "0x")):
        return int(value[2:], 8 if value[1] == "o" else 16)
    return int(value, 10)


def _construct_float(loader: StrictLoader, node: Node) -> float:
    value = _scalar(loader, node, _FLOAT, "number").lower()
    if value.endswith(".nan"):
        return math.nan
    if value.endswith(".inf"):
        return -math.inf if value.startswith("-") else math.inf
    return float(value)


StrictLoader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)
StrictLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)
StrictLoader.add_constructor("tag:yaml.org,2002:float", _construct_float)


def format_path(path: KeyPath) -> str:
    """Render ("channels", 0, "imap", "port") as channels[0].imap.port."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass(frozen=True)
class Marks:
    """Where each value (and each mapping key) of a loaded document sits in its file."""

    values: Mapping[KeyPath, Position] = field(default_factory=dict)
    keys: Mapping[KeyPath, Position] = field(default_factory=dict)

    def value(self, path: KeyPath) -> Position | None:
        """The position of the value at path, or of its nearest ancestor that has one."""
        for end in range(len(path), -1, -1):
            if (found := self.values.get(path[:end])) is not None:
                return found
        return None

    def key(self, path: KeyPath) -> Position | None:
        """The position of the key naming path (a sequence item has none: its value's)."""
        return self.keys.get(path) or self.value(path)


def _pos(node: Node) -> Position:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _Walker:
    """Records marks and duplicate keys; visits each node once so aliases cannot blow up."""

    def __init__(self, loader: StrictLoader, filename: str) -> None:
        self.loader, self.filename = loader, filename
        self.values: dict[KeyPath, Position] = {}
        self.keys: dict[KeyPath, Position] = {}
        self.problems: list[ConfigProblem] = []
        self.seen: set[int] = set()

    def walk(self, node: Node, path: KeyPath) -> None:
        self.values[path] = _pos(node)
        if id(node) in self.seen:
            return
        self.seen.add(id(node))
        if isinstance(node, SequenceNode):
            for index, item in enumerate(node.value):
                self.walk(item, (*path, index))
        elif isinstance(node, MappingNode):
            first: dict[object, Node] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, ScalarNode):
                    continue  # construction rejects unhashable keys with its own message
                key = self.loader.construct_object(key_node)
                part = key if isinstance(key, str | int) else str(key)
                if key in first:
                    line, column = _pos(key_node)
                    self.problems.append(
                        ConfigProblem(
                            self.filename,
                            line,
                            column,
                            format_path((*path, part)),
                            f'duplicate key "{key_node.value}" '
                            f"(first given on line {_pos(first[key])[0]})",
                        )
                    )
                    continue
                first[key] = key_node
                self.keys[(*path, part)] = _pos(key_node)
                self.walk(value_node, (*path, part))


def _syntax_problem(exc: yaml.YAMLError, text: str, filename: str) -> ConfigProblem:
    if isinstance(exc, yaml.reader.ReaderError):
        before = text[: exc.position]
        line, column = before.count("\n") + 1, len(before) - before.rfind("\n")
        return ConfigProblem(filename, line, column, "", f"invalid YAML: {exc.reason}")
    if not isinstance(exc, yaml.MarkedYAMLError):
        return ConfigProblem(filename, None, None, "", f"invalid YAML: {exc}")
    mark = exc.problem_mark or exc.context_mark
    problem, context = exc.problem or "", exc.context or ""
    if problem.startswith("but ") and context:
        message = f"{context} {problem}"
    elif context and exc.context_mark:
        message = f"{problem} ({context} on line {exc.context_mark.line + 1})"
    else:
        message = problem or context
    if mark is None:
        return ConfigProblem(filename, None, None, "", f"invalid YAML: {message}")
    return ConfigProblem(filename, mark.line + 1, mark.column + 1, "", f"invalid YAML: {message}")


def load_yaml(text: str, filename: str) -> tuple[Any, Marks]:
    """Parse one YAML document; raise ConfigError naming file:line:column on any problem.

    Returns the plain data (dicts, lists, str, int, float, bool, None) and its Marks.
    """
    loader: StrictLoader | None = None
    try:
        loader = StrictLoader(text)
        node = loader.get_single_node()
        if node is None:
            return None, Marks()
        walker = _Walker(loader, filename)
        walker.walk(node, ())
        if walker.problems:
            raise ConfigError(walker.problems)
        data = loader.construct_document(node)
    except yaml.YAMLError as exc:
        problem = _syntax_problem(exc, text, filename)
    else:
        return data, Marks(walker.values, walker.keys)
    finally:
        if loader is not None:
            loader.dispose()
    raise ConfigError([problem])
