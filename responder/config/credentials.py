"""Where a systemd credential comes from, for the commands an admin runs outside the service.

The config names secrets as the service sees them, /run/credentials/responder.service/imap,
but that folder exists only while the unit runs (systemd.exec(5), LoadCredential=). So that
`responder check`, `status` or `backup` work beside a stopped service too, such a path is
read from the source file its unit's `LoadCredential=NAME:SOURCE` line names.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

CREDENTIALS_ROOT = Path("/run/credentials")
UNIT_DIRS = (Path("/etc/systemd/system"), Path("/run/systemd/system"), Path("/lib/systemd/system"))


def credential_source(
    path: Path, environ: Mapping[str, str], unit_dirs: tuple[Path, ...] = UNIT_DIRS
) -> Path | None:
    """The file a missing /run/credentials/UNIT/NAME stands for, when we run outside UNIT."""
    if path.parent.parent != CREDENTIALS_ROOT or environ.get("CREDENTIALS_DIRECTORY"):
        return None
    unit, name = path.parent.name, path.name
    for folder in unit_dirs:
        found = _load_credential(folder / unit, name)
        if found is not None:
            return found
    return None


def _load_credential(unit_file: Path, name: str) -> Path | None:
    try:
        text = unit_file.read_text(encoding="utf-8")
    except (OSError, UnicodeError):
        return None
    source = None
    for line in text.splitlines():
        key, _, value = line.strip().partition("=")
        if key.strip() != "LoadCredential":
            continue
        cred, _, where = value.strip().partition(":")
        if cred == name and where.startswith("/"):
            source = Path(where)  # the last one wins, as in systemd
    return source
