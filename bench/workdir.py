"""A benchmark's temporary work directory: errors reported in one line, the directory kept
when a run fails (or --keep), removed otherwise."""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class WorkDir:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.failed = True


def tail_logs(work: Path, lines: int = 30) -> None:
    """The end of every *.log in the work directory, to stderr: what a daemon said."""
    for log in sorted(work.glob("*.log")):
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
        print(f"--- {log.name} (tail)\n{tail}", file=sys.stderr)


@contextmanager
def work_dir(
    prefix: str, *, keep: bool, errors: tuple[type[BaseException], ...], logs: bool = False
) -> Iterator[WorkDir]:
    """`failed` stays True unless the body finishes; the errors named are reported (with
    the logs' tails when `logs`), not raised."""
    work = WorkDir(Path(tempfile.mkdtemp(prefix=prefix)))
    try:
        yield work
        work.failed = False
    except errors as exc:
        print(f"bench: {exc}", file=sys.stderr)
        if logs:
            tail_logs(work.path)
    finally:
        if work.failed or keep:
            print(f"bench: work directory kept at {work.path}", file=sys.stderr)
        else:
            shutil.rmtree(work.path, ignore_errors=True)
