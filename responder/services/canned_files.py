"""`check` of the rules' canned files (issue 18): each found in the templates folders, readable,
a type every channel takes, and under each configured channel's limit, named at file:line."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from responder.config import Config
from responder.core.canned import TYPES, CannedFile, canned_ref, folders, locate, over_limit, sniff
from responder.core.channel import ChannelProfile, FileRef
from responder.errors import ConfigProblem


def _mb(size: int) -> str:
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / (1024 * 1024):.1f} MB"


def _read(path: Path) -> tuple[bytes, int]:
    with path.open("rb") as f:
        return f.read(16), path.stat().st_size


def canned_files(
    config: Config, profiles: Iterable[ChannelProfile]
) -> tuple[dict[str, FileRef], list[ConfigProblem]]:
    """Every file the rules attach, by name, and what is wrong with any of them."""
    found: dict[str, FileRef] = {}
    problems: list[ConfigProblem] = []
    profiles = list(profiles)
    where = " or ".join(str(f) for f in folders(config.templates_dir))
    for index, rule in enumerate(config.rules):
        for n, name in enumerate(rule.then.attach):

            def problem(message: str, n: int = n, index: int = index) -> None:
                at = ("rules", index, "then", "attach", n)
                problems.append(config.source.problem(at, message))

            path = locate(config.templates_dir, name)
            if path is None:
                problem(f"{name}: no such file in {where}")
                continue
            try:
                head, size = _read(path)
            except OSError as exc:
                problem(f"{path}: cannot be read ({exc.strerror or exc})")
                continue
            mime = sniff(head)
            if mime is None:
                kinds = "a PDF, a JPEG or a PNG picture"
                problem(f"{path}: not {kinds}, the files every channel can send")
                continue
            file = CannedFile(canned_ref(name, mime), size)
            only = rule.when.channel if rule.when is not None else None
            for profile in (p for p in profiles if only is None or p.name in only):
                limit = over_limit(profile, file)
                if limit is not None:
                    kind = "picture" if TYPES[mime] == "image" else "document"
                    problem(
                        f"{path} is {_mb(size)}, over the {_mb(limit)} a {kind} may be "
                        f"on channel {profile.name}"
                    )
                    break
            else:
                found[name] = file.ref
    return found, problems
