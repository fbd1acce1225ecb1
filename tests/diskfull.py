"""A real small disk for fault tests: a tmpfs that can be filled to ENOSPC and freed."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from pathlib import Path
from types import TracebackType


class SmallDisk:
    """A tmpfs of `size_mb` MiB mounted at `path` (needs root, as CI runs). `fill()` takes
    every free byte, so the next write that needs space fails with ENOSPC, exactly as on a
    full disk; `free()` gives the space back."""

    def __init__(self, path: Path, size_mb: int = 64, *, read_only: bool = False) -> None:
        self.path = path
        self._size = size_mb
        self._mode = "ro" if read_only else "rw"
        self._filler = path / "filler"

    def __enter__(self) -> SmallDisk:
        if os.geteuid() != 0:
            raise RuntimeError("the disk-full tests mount a tmpfs: run them as root (CI does)")
        self.path.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "mount",
                "-t",
                "tmpfs",
                "-o",
                f"size={self._size}m,mode=0755,{self._mode}",
                "tmpfs",
                self.path,
            ],
            check=True,
        )
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        subprocess.run(["umount", "-l", self.path], check=False)

    def fill(self) -> None:
        chunk = b"\0" * (1 << 20)
        with self._filler.open("ab", buffering=0) as out:
            for size in (len(chunk), 4096, 1):
                block = chunk[:size]
                while True:
                    try:
                        out.write(block)
                    except OSError as exc:
                        if exc.errno != errno.ENOSPC:
                            raise
                        break

    def free(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._filler.unlink()
