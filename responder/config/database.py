"""database_url and its password: SQLite (the default) or PostgreSQL (README, "PostgreSQL")."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from pydantic import AfterValidator, SecretStr

from responder.config.types import LoadContext, fail, read_secret

# The drivers we serve; async names are accepted and run by their synchronous sibling.
_SQLITE = ("sqlite", "sqlite+pysqlite", "sqlite+aiosqlite")
_POSTGRESQL = ("postgresql", "postgresql+psycopg", "postgresql+asyncpg", "postgresql+psycopg_async")


def _database_url(value: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        url = make_url(value)
    except (ArgumentError, ValueError):
        message = "expected a URL like postgresql://responder@localhost/responder"
        raise fail("database_url", message, show_input=False) from None
    if url.drivername not in _SQLITE + _POSTGRESQL:
        message = (
            f'unsupported database "{url.drivername}": use postgresql://... (psycopg) or '
            "sqlite:///PATH, or leave database_url out for SQLite in state_dir"
        )
        raise fail("database_url", message, show_input=False)
    if url.password is not None:
        message = (
            "secrets are never inline: remove the password from the URL and use "
            "database_password_file or database_password_env"
        )
        raise fail("inline_secret", message, show_input=False)
    if url.drivername in _POSTGRESQL and not url.database:
        message = "name the database: postgresql://ROLE@HOST/DATABASE"
        raise fail("database_url", message, show_input=False)
    return value


DatabaseUrl = Annotated[str, AfterValidator(_database_url)]


def is_postgresql(url: str | None) -> bool:
    return url is not None and url.split(":", 1)[0].split("+", 1)[0] == "postgresql"


def read_password(
    ctx: LoadContext, url: str | None, file: object, env: str | None
) -> SecretStr | None:
    """The database's password from database_password_file or _env, when one is named.

    Read even by the commands that skip other secrets (status, export, backup): they all
    open the database. One that cannot be read there is left None and noted, and
    Config.database_url_resolved says why when it is needed."""
    if file is None and env is None:
        return None
    if not is_postgresql(url):
        key = "database_password_file" if file is not None else "database_password_env"
        message = "a password is for a PostgreSQL database_url; SQLite has none: remove this"
        raise fail("secret", message, (key,))
    from pathlib import Path

    mode = "warn" if ctx.secrets == "skip" else ctx.secrets
    path = file if isinstance(file, Path) else None
    return read_secret(replace(ctx, secrets=mode), path, env, "database_password")


def with_password(url: str, password: SecretStr | None) -> str:
    """The URL to connect with: the password set in, escaped as a URL needs."""
    if password is None:
        return url
    from sqlalchemy.engine import make_url

    parsed = make_url(url).set(password=password.get_secret_value())
    return parsed.render_as_string(hide_password=False)


def describe(url: str | None, default: str) -> str:
    """Which database, for `responder check`: the backend and where, never the password."""
    if not is_postgresql(url):
        return f"SQLite, {default if url is None else url.split('///', 1)[-1]}"
    from sqlalchemy.engine import make_url

    assert url is not None
    return f"PostgreSQL, {make_url(url).render_as_string(hide_password=True)}"
