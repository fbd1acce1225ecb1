"""The saved sign-in of one channel: `state_dir/oauth/<channel>.json`, owner-only, written whole."""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import tempfile
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from responder.errors import NotSignedIn, SignInUnreadable

FORMAT = 1
# (mtime in ns, inode, size): changes whenever the file is replaced, by us or by `login`.
Signature = tuple[int, int, int]


class GrantUnreadable(Exception):
    """The file is damaged or not ours; the text says which, for the admin."""


@dataclass(frozen=True)
class Grant:
    """A refresh token and the last access token issued with it. Tokens stay out of repr,
    so a grant printed or logged by mistake shows no secret."""

    provider: str
    client_id: str
    refresh_token: str = field(repr=False)
    account: str = ""  # the mailbox signed in, as the provider named it (may be "")
    scope: str = ""
    access_token: str = field(default="", repr=False)
    expires_at: float = 0.0  # epoch seconds; 0: no access token yet
    issued_at: float = 0.0  # when the access token was issued (its lifetime sets the margin)

    def with_access(self, token: str, expires_in: float, now: float) -> Grant:
        return replace(self, access_token=token, expires_at=now + expires_in, issued_at=now)


def signature(path: Path) -> Signature | None:
    """The file's identity now, or None if there is no file (or it may not be looked at:
    reading it then says why)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_ino, st.st_size)


def read_grant(path: Path) -> tuple[Grant, Signature]:
    """The grant `responder login` saved (state_dir/oauth/<channel>.json). Raises NotSignedIn,
    SignInUnreadable (this user may not read it), or GrantUnreadable (damaged, not ours)."""
    try:
        with path.open("rb") as f:
            st = os.fstat(f.fileno())
            data = json.loads(f.read())
    except FileNotFoundError:
        raise NotSignedIn(path.stem, path) from None
    except PermissionError as exc:
        raise unreadable(path, exc) from None
    except OSError as exc:
        raise GrantUnreadable(f"cannot read {path}: {(exc.strerror or str(exc)).lower()}") from None
    except ValueError:
        raise GrantUnreadable(f"{path} is damaged (not JSON)") from None
    try:
        if data.pop("format") != FORMAT:
            raise ValueError
        grant = Grant(**data)
    except (AttributeError, KeyError, TypeError, ValueError):
        raise GrantUnreadable(f"{path} is not a sign-in this version can read") from None
    return grant, (st.st_mtime_ns, st.st_ino, st.st_size)


def unreadable(path: Path, exc: OSError) -> SignInUnreadable:
    """This process's user may not read `path` (state_dir/oauth/<channel>.json): who should
    own it. The daemon owns its state folder (systemd's StateDirectory=), and `responder login`
    run as root hands the file to that owner; a file copied or saved another way may not."""
    state_dir = path.parent.parent
    me = os.geteuid()
    try:
        owner = state_dir.stat().st_uid
    except OSError:
        owner = me
    message = (
        f"user {user_name(me)} cannot read the saved sign-in {path} "
        f"({(exc.strerror or str(exc)).lower()})"
    )
    if owner not in (me, 0):
        # Another user runs this (`check --connect` without sudo): the file is the service's.
        remedy = (
            f"the saved sign-in belongs to {user_name(owner)}, the owner of {state_dir}: "
            f"run this as root (sudo) or as {user_name(owner)}"
        )
        return SignInUnreadable(message, remedy, login_helps=False)
    remedy = (
        f"`responder login` run as root hands the file to the owner of {state_dir}; give it "
        f"to {user_name(me)} with `sudo chown -R {user_name(me)}: {path.parent}`"
    )
    return SignInUnreadable(message, remedy, login_helps=owner != 0)


def user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:  # a DynamicUser uid seen from outside the service while it is stopped
        return f"uid {uid}"


def write_grant(path: Path, grant: Grant, owner: tuple[int, int] | None = None) -> Signature:
    """Replace the file atomically (a reader sees the old file or the new one, never half),
    mode 0600 in a 0700 folder; `owner` (uid, gid) hands both to the daemon's user when
    root runs `responder login`. Returns the new file's signature."""
    folder = path.parent
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    if owner is not None:
        os.chown(folder, *owner)
    data: dict[str, Any] = {"format": FORMAT, **asdict(grant)}
    # mkstemp creates the file 0600 from the start: the tokens are never readable by others.
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1)
            f.flush()
            os.fsync(f.fileno())
            if owner is not None:
                os.fchown(f.fileno(), *owner)
            st = os.fstat(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    # The rename itself must reach the disk, or a crash could bring the old grant back
    # (a rotated refresh token would then be spent already).
    dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
    return (st.st_mtime_ns, st.st_ino, st.st_size)
