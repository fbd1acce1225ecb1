"""PostgreSQL's side of the engine: session settings, the migration lock, errors in plain words."""

from __future__ import annotations

import importlib.util
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.engine import URL

from responder.errors import StorageError

# pg_advisory_xact_lock's key: any constant of our own; "resp" in ASCII. Held until the
# migrating transaction ends, so of several instances starting together one migrates and
# the others then find the schema current (issue 19).
MIGRATE_LOCK = 0x72657370

# A statement waiting this long for a row another instance holds fails instead of hanging
# the database thread; the caller's retry takes it up again (issue 13's StorageUnavailable).
LOCK_TIMEOUT_MS = 10_000
# No unit of work takes this long on a healthy server: a stuck one is ended and reported.
STATEMENT_TIMEOUT_MS = 120_000
CONNECT_TIMEOUT_S = 10


def connect_args(
    *, statement_timeout_ms: int = STATEMENT_TIMEOUT_MS, read_only: bool = False
) -> dict[str, Any]:
    """psycopg's connection arguments: named in pg_stat_activity, bounded waits; read_only:
    the server itself refuses every write (as SQLite's mode=ro does for status and report)."""
    if importlib.util.find_spec("psycopg") is None:
        # An optional extra: SQLite needs none of it.
        raise StorageError(
            "database_url names PostgreSQL, which needs psycopg: "
            "pip install 'responder[postgresql]' (into responder's own environment)"
        )
    options = f"-c lock_timeout={LOCK_TIMEOUT_MS} -c statement_timeout={statement_timeout_ms}"
    # Times are stored and read as UTC whatever the server's own zone (schema.UTCDateTime);
    # UTC sessions make the server's own date arithmetic agree with SQLite's too.
    options += " -c TimeZone=UTC"
    if read_only:
        options += " -c default_transaction_read_only=on"
    return {
        "application_name": "responder",
        "connect_timeout": CONNECT_TIMEOUT_S,
        "options": options,
    }


def lock_for_migration(conn: Connection) -> None:
    """Wait for any other instance's migration to finish, then hold the lock for ours.

    A migration may take longer than the daemon's timeouts allow a statement: they are
    lifted for this transaction only (SET LOCAL)."""
    conn.execute(text("SET LOCAL lock_timeout = 0"))
    conn.execute(text("SET LOCAL statement_timeout = 0"))
    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATE_LOCK})


def hint(message: str, url: URL) -> str | None:
    """What an admin can do about one of PostgreSQL's (or libpq's) refusals."""
    lowered = message.lower()
    server = f"{url.host or 'localhost'}:{url.port or 5432}"
    role, database = url.username or "the role", url.database or "the database"
    if "connection refused" in lowered or "could not connect" in lowered:
        return (
            f"is PostgreSQL running and listening on {server}? "
            "(systemctl status postgresql; listen_addresses in postgresql.conf)"
        )
    if "password authentication failed" in lowered:
        return (
            f"the password in database_password_file (or _env) is not {role}'s: fix the file, "
            f"or set it with ALTER ROLE {role} PASSWORD '...' in psql"
        )
    if "no password supplied" in lowered:
        return "the server wants a password: add database_password_file or database_password_env"
    if "does not exist" in lowered and "database" in lowered:
        return f"create it: sudo -u postgres createdb -O {role} {database}"
    if "does not exist" in lowered and "role" in lowered:
        return f"create the role: sudo -u postgres createuser --pwprompt {role}"
    if "no pg_hba.conf entry" in lowered:
        return "allow this host, role and database in the server's pg_hba.conf, then reload it"
    if "permission denied" in lowered:
        return f"make {role} the owner of {database}: ALTER DATABASE {database} OWNER TO {role}"
    if "timeout" in lowered and "connect" in lowered:
        return f"nothing answered at {server} in {CONNECT_TIMEOUT_S}s: check host, port, firewall"
    return None
