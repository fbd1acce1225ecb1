"""Field types and validation helpers for the config models: durations, paths, secrets."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from responder.config.secrets import SecretUnavailable, UnreadSecret, read_value
from responder.config.yamlload import KeyPath, format_path

Security = Literal["tls", "starttls", "none"]


def fail(
    kind: str, message: str, at: KeyPath = (), *, show_input: bool = True
) -> PydanticCustomError:
    # "at" points below the validated object (config_errors appends it to the error's loc).
    return PydanticCustomError(kind, message, {"at": at, "show_input": show_input})


# require: a secret that cannot be read is an error (`run`, `check --connect`). warn: it is
# left None and noted in LoadContext.unread (`check`, beside a service whose credentials
# only systemd hands over). skip: not even read (`simulate`, which sends nothing).
SecretsMode = Literal["require", "warn", "skip"]


@dataclass(frozen=True)
class LoadContext:
    """What validation needs from outside the file: where it lives and the environment."""

    base_dir: Path
    environ: Mapping[str, str]
    secrets: SecretsMode = "require"
    unread: list[UnreadSecret] = field(default_factory=list, compare=False)


def load_context(info: ValidationInfo) -> LoadContext:
    # Models built in code (tests, other modules) get the process's own surroundings.
    ctx = info.context
    return ctx if isinstance(ctx, LoadContext) else LoadContext(Path.cwd(), os.environ)


_DURATION = re.compile(
    r"(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+)ms)?", re.ASCII
)


def _duration(value: object) -> object:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise fail("duration", "expected a duration like 30s, 5m, 2h, 1d, 1h30m or 0")
    text = str(value).strip()
    if text.startswith("-"):
        raise fail("duration", "must not be negative")
    if text.isascii() and text.isdigit():
        return timedelta(seconds=int(text))
    if text and (m := _DURATION.fullmatch(text)):
        days, hours, minutes, seconds, millis = (float(g or 0) for g in m.groups())
        return timedelta(
            days=days, hours=hours, minutes=minutes, seconds=seconds, milliseconds=millis
        )
    raise fail("duration", "expected a duration like 30s, 5m, 2h, 1d, 1h30m or 0")


def byte_size(value: object) -> object:
    """8MB, 512KB or a number of bytes; KB and MB are 1024 and 1024 x 1024 bytes."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise fail("byte_size", "expected a size like 8MB, 512KB or a number of bytes")
    match = re.fullmatch(r"\s*(\d+)\s*([KMG]B?|B)?\s*", str(value), re.IGNORECASE | re.ASCII)
    if match is None:
        raise fail("byte_size", "expected a size like 8MB, 512KB or a number of bytes")
    unit = (match.group(2) or "B")[0].upper()
    return int(match.group(1)) * {"B": 1, "K": 1024, "M": 1024**2, "G": 1024**3}[unit]


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise fail("duration", "must be longer than 0")
    return value


def _pattern(kind: str, rx: str, message: str, lower: bool = False) -> AfterValidator:
    compiled = re.compile(rx)

    def check(value: str) -> str:
        if not compiled.fullmatch(value):
            raise fail(kind, message)
        return value.lower() if lower else value

    return AfterValidator(check)


def _resolve(value: Path, info: ValidationInfo) -> Path:
    return load_context(info).base_dir / value  # an absolute value replaces base_dir


_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"

Duration = Annotated[timedelta, BeforeValidator(_duration)]
PositiveDuration = Annotated[Duration, AfterValidator(_positive)]
ConfigPath = Annotated[Path, AfterValidator(_resolve)]
Text = Annotated[str, Field(min_length=1)]


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        message = f'unknown timezone "{value}" (use a name like Asia/Jakarta or UTC)'
        raise fail("timezone", message, show_input=False) from None
    return value


TimezoneName = Annotated[str, AfterValidator(_timezone)]


def unique_names(items: Sequence[Any], section: str, what: str) -> None:
    """A name used twice is an error at the second use, naming the first."""
    first: dict[str, int] = {}
    for index, item in enumerate(items):
        if item.name in first:
            used = format_path((section, first[item.name]))
            message = f'duplicate {what} name "{item.name}" (also used by {used})'
            raise fail("duplicate_name", message, (index, "name"), show_input=False)
        first[item.name] = index


Port = Annotated[int, Field(strict=True, ge=1, le=65535)]
EmailAddress = Annotated[
    str,
    _pattern(
        "address",
        rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*",
        "expected a plain email address like name@example.com",
        lower=True,
    ),
]
EnvName = Annotated[
    str, _pattern("env_name", r"[A-Za-z_][A-Za-z0-9_]*", "expected an environment variable name")
]
ChannelName = Annotated[
    str,
    _pattern(
        "channel_name",
        r"[a-z0-9][a-z0-9_-]{0,39}",
        "expected up to 40 lowercase letters, digits, - or _ (not starting with - or _)",
    ),
]


class FrozenModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PasswordHolder(FrozenModel):
    """Reads password_file or password_env into password once the other keys are valid."""

    if TYPE_CHECKING:
        password_file: Path | None
        password_env: str | None
        password: SecretStr | None

    def _password_needed(self) -> bool:
        return True

    @property
    def password_missing(self) -> bool:
        """Needed but not read: loaded with secrets "warn" or "skip", never fit to log in."""
        return self._password_needed() and self.password is None

    @field_validator("password", mode="before", check_fields=False)
    @classmethod
    def _never_inline(cls, value: object) -> object:
        raise inline_secret("password")

    @model_validator(mode="after")
    def _load_password(self, info: ValidationInfo) -> Self:
        # A frozen model's one write, made before validation hands the model to anyone.
        self.__dict__["password"] = self._read_password(load_context(info))
        return self

    def _read_password(self, ctx: LoadContext) -> SecretStr | None:
        file, env = self.password_file, self.password_env
        if not self._password_needed():
            if file is not None or env is not None:
                key = "password_file" if file is not None else "password_env"
                message = "a password needs a username: add one or remove this"
                if getattr(self, "auth", "password") == "oauth2":
                    message = "auth is oauth2, which signs in without a password: remove this"
                raise fail("secret", message, (key,))
            return None
        return read_secret(ctx, file, env, "password")


def inline_secret(key: str) -> PydanticCustomError:
    """The error for a secret written in the file itself, without echoing it."""
    message = f"secrets are never inline: use {key}_file or {key}_env"
    return fail("inline_secret", message, show_input=False)


def read_secret(ctx: LoadContext, file: Path | None, env: str | None, key: str) -> SecretStr | None:
    """The secret named by `<key>_file` or `<key>_env`: exactly one of them, never empty.

    None when ctx.secrets is "skip", or "warn" and it cannot be read (noted in ctx.unread);
    whatever needs it later must refuse None, which only `run`'s "require" rules out."""
    if file is not None and env is not None:
        raise fail("secret", f"give {key}_file or {key}_env, not both", (f"{key}_env",))
    if file is None and env is None:
        message = f'missing required key "{key}_file" (or "{key}_env")'
        raise fail("secret", message, show_input=False)
    if ctx.secrets == "skip":
        return None
    try:
        return SecretStr(read_value(file, env, key, ctx.environ))
    except SecretUnavailable as exc:
        if ctx.secrets == "require":
            raise fail("secret", exc.message, (exc.key,), show_input=False) from None
        ctx.unread.append(UnreadSecret(key, file, env, exc.key, exc.message))
        return None
