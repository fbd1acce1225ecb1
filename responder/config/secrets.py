"""Reading a secret from its file or environment variable, and saying how to fix one that fails."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from responder.config.credentials import CREDENTIALS_ROOT, credential_source
from responder.config.problems import ConfigSource
from responder.config.yamlload import KeyPath
from responder.errors import ConfigProblem

# What goes in the file, for the remedy; "secret" signs survey links and may be any long text,
# and "verify_token" is whatever the admin also types into the Meta app dashboard.
_WHAT = {
    "password": "the password",
    "token": "the bot token BotFather gave you",
    "secret": "a long random text",
    "access_token": "the access token Meta gave you (a system user's token)",
    "app_secret": "the App Secret from the Meta app's App settings > Basic",
    "verify_token": "a random text of 8 or more characters (the webhook's Verify token at Meta)",
}


class SecretUnavailable(Exception):
    """The secret cannot be had: its file is missing, unreadable or empty, or its variable
    unset. `key` is the config key to point at (password_file, token_env...)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


@dataclass(frozen=True)
class UnreadSecret:
    """A secret left None in warn mode: which key names it, where from, and why it failed."""

    key: str  # password, token, secret...
    file: Path | None
    env: str | None
    at: str  # the key the problem is reported at: password_file or password_env
    message: str


def read_value(file: Path | None, env: str | None, key: str, environ: Mapping[str, str]) -> str:
    """The secret in file (or the variable env): its first line's worth, never empty."""
    what = _WHAT.get(key, f"the {key.replace('_', ' ')}")
    if file is not None:
        wanted = file
        if not file.exists() and (source := credential_source(file, environ)) is not None:
            file = source  # the service's credential, read where systemd reads it from
        instead = f"or use {key}_env: NAME instead (an environment variable holding it)"
        try:
            value = file.read_text(encoding="utf-8").rstrip("\r\n")
        except FileNotFoundError:
            raise SecretUnavailable(f"{key}_file", _missing(wanted, file, what, instead)) from None
        except OSError as exc:
            message = (
                f"cannot read {file}: {exc.strerror}; let the user responder runs as read it "
                f"(or run this command with sudo), {instead}"
            )
            raise SecretUnavailable(f"{key}_file", message) from None
        except UnicodeError:
            message = f"cannot read {file}: not UTF-8 text; write {what} in it as plain text"
            raise SecretUnavailable(f"{key}_file", message) from None
        if not value:
            message = f"{key} file {file} is empty; put {what} in it, on one line, {instead}"
            raise SecretUnavailable(f"{key}_file", message)
        return value
    assert env is not None
    from_env = environ.get(env)
    if not from_env:
        state = "is empty" if from_env is not None else "is not set"
        message = (
            f'environment variable "{env}" {state}; set it to {what} where responder runs '
            f"(Environment= in the systemd unit), or use {key}_file: PATH instead"
        )
        raise SecretUnavailable(f"{key}_env", message)
    return from_env


def _missing(wanted: Path, file: Path, what: str, instead: str) -> str:
    if wanted == file and wanted.parent.parent == CREDENTIALS_ROOT:
        # systemd.exec(5): LoadCredential=NAME:SOURCE makes /run/credentials/UNIT/NAME, and
        # only while the unit runs; no installed unit says where NAME comes from.
        name = wanted.name
        source = f"/etc/responder/secrets/{name}"
        # The unit install-service writes hands over these three (systemd/responder.service).
        shipped = name in ("imap", "smtp", "telegram")
        how = "responder install-service writes it" if shipped else "add it to the unit"
        return (
            f"cannot read {wanted}: systemd makes it for the running service from a line "
            f"LoadCredential={name}:{source} in the unit, and no installed unit has that line "
            f"({how}); create {source} with {what} on one line, {instead}"
        )
    return f"cannot read {file}: no such file; create it with {what} on one line, {instead}"


def unread_secrets(
    model: BaseModel, unread: Sequence[UnreadSecret], path: KeyPath = ()
) -> Iterator[tuple[KeyPath, str]]:
    """Where (the key's path from model) and why each secret left None in warn mode failed.

    Found by value, not by which model read it: validation does not know a model's path."""
    fields = type(model).model_fields
    for name in fields:
        value = getattr(model, name)
        items = enumerate(value) if isinstance(value, tuple) else [(None, value)]
        for index, item in items:
            if isinstance(item, BaseModel):
                where = (*path, name) if index is None else (*path, name, index)
                yield from unread_secrets(item, unread, where)
    for entry in unread:
        file_key, env_key = f"{entry.key}_file", f"{entry.key}_env"
        if file_key not in fields or env_key not in fields or entry.key not in fields:
            continue
        mine = getattr(model, file_key) == entry.file and getattr(model, env_key) == entry.env
        if mine and getattr(model, entry.key) is None:
            yield (*path, entry.at), entry.message


def secret_warnings(
    root: BaseModel, unread: Sequence[UnreadSecret], source: ConfigSource
) -> tuple[ConfigProblem, ...]:
    """The secrets left None in warn mode, as problems at the keys that name them."""
    found = {
        source.problem(_written_at(source, p), m): None for p, m in unread_secrets(root, unread)
    }
    return tuple(sorted(found, key=lambda p: (p.line or 0, p.column or 0)))


def _written_at(source: ConfigSource, path: KeyPath) -> KeyPath:
    # A key a preset copied down (a channel's password_file into imap and smtp) is reported
    # where the admin wrote it.
    for depth in range(len(path) - 1, -1, -1):
        if (candidate := (*path[:depth], path[-1])) in source.marks.values:
            return candidate
    return path
