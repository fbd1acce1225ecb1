"""Versioned schema migrations, applied in order at start and recorded in schema_version."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import Connection, bindparam, inspect, or_, select, text, update

from responder.errors import StorageError
from responder.storage import schema

log = logging.getLogger(__name__)

Migration = Callable[[Connection], None]


def _v1_initial(conn: Connection) -> None:
    tables = [
        schema.cursors,
        schema.tickets,
        schema.inbound,
        schema.thread_ids,
        schema.replies,
        schema.suppressions,
    ]
    schema.metadata.create_all(conn, tables=tables)


def _add_columns(conn: Connection, table: str, columns: dict[str, str]) -> None:
    # Plain ALTER TABLE ... ADD COLUMN is the same on SQLite and PostgreSQL. Version 1 creates
    # tables from today's definitions, so a fresh database already has the columns.
    present = {c["name"] for c in inspect(conn).get_columns(table)}
    for name, ddl_type in columns.items():
        if name not in present:
            conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} {ddl_type}"))


def _v2_rules_and_hours(conn: Connection) -> None:
    _add_columns(
        conn,
        "tickets",
        {
            "rule": "VARCHAR(64)",
            "priority": "VARCHAR(16)",
            "tags": "TEXT",
            "sla_policy": "VARCHAR(64)",
        },
    )
    _add_columns(conn, "replies", {"period": "VARCHAR(64)"})


def _v3_chat(conn: Connection) -> None:
    _add_columns(conn, "tickets", {"resolved_at": "TIMESTAMP"})
    _nullable_reply_ticket(conn)
    _add_columns(conn, "replies", {"external_id": "VARCHAR(64)", "thread": "VARCHAR(64)"})
    schema.metadata.create_all(conn, tables=[schema.posts, schema.ticket_events, schema.blocked])
    existing = {i["name"] for i in inspect(conn).get_indexes("tickets")}
    if "ix_tickets_channel_customer" not in existing:
        conn.execute(
            text("CREATE INDEX ix_tickets_channel_customer ON tickets (channel, customer)")
        )
    existing = {i["name"] for i in inspect(conn).get_indexes("replies")}
    if "ix_replies_ticket" not in existing:
        conn.execute(text("CREATE INDEX ix_replies_ticket ON replies (ticket_id)"))


def _nullable_reply_ticket(conn: Connection) -> None:
    found = [c for c in inspect(conn).get_columns("replies") if c["name"] == "ticket_id"]
    if not found or found[0]["nullable"]:
        return
    if conn.dialect.name != "sqlite":
        conn.execute(text("ALTER TABLE replies ALTER COLUMN ticket_id DROP NOT NULL"))
        return
    # SQLite cannot drop NOT NULL in place: rebuild the table from today's definition (the
    # procedure in https://www.sqlite.org/lang_altertable.html, section 7).
    old = [c["name"] for c in inspect(conn).get_columns("replies")]
    for index in inspect(conn).get_indexes("replies"):
        conn.execute(text(f"DROP INDEX {index['name']}"))
    conn.execute(text("ALTER TABLE replies RENAME TO replies_before_v3"))
    schema.replies.create(conn)
    columns = ", ".join(old)
    conn.execute(text(f"INSERT INTO replies ({columns}) SELECT {columns} FROM replies_before_v3"))
    conn.execute(text("DROP TABLE replies_before_v3"))


def _v4_sla(conn: Connection) -> None:
    schema.metadata.create_all(conn, tables=[schema.timers, schema.meta, schema.early_marks])
    found = inspect(conn)
    if found.has_table("inbound"):
        columns = {c["name"] for c in found.get_columns("inbound")}
        existing = {i["name"] for i in found.get_indexes("inbound")}
        if "ticket_id" in columns and "ix_inbound_ticket" not in existing:
            conn.execute(text("CREATE INDEX ix_inbound_ticket ON inbound (ticket_id, id)"))


def _v5_surveys(conn: Connection) -> None:
    _add_columns(conn, "tickets", {"utc_offset": "INTEGER"})
    schema.metadata.create_all(conn, tables=[schema.surveys])


def _v6_undecided(conn: Connection) -> None:
    if inspect(conn).has_table("inbound"):
        columns = {"attempts": "INTEGER NOT NULL DEFAULT 0", "last_error": "TEXT"}
        _add_columns(conn, "inbound", columns)


def _v7_channel_health(conn: Connection) -> None:
    schema.metadata.create_all(conn, tables=[schema.channel_health])


def _v8_ids_in_columns(conn: Connection) -> None:
    if not inspect(conn).has_table("replies"):
        return
    present = {c["name"] for c in inspect(conn).get_columns("replies")}
    if "sla_timer_id" not in present:
        if conn.dialect.name == "sqlite":
            # The old unique key is part of SQLite's table: rebuilt from today's definition.
            _rebuild_replies(conn, "replies_before_v8")
        else:
            _add_columns(conn, "replies", {"sla_timer_id": "INTEGER", "survey_id": "INTEGER"})
            conn.execute(
                text("ALTER TABLE replies DROP CONSTRAINT uq_replies_inbound_kind_recipient")
            )
            for index in schema.replies.indexes:
                if index.name in ("uq_replies_once", "uq_replies_alert"):
                    index.create(conn)
    _ids_out_of_kinds(conn)


def _rebuild_replies(conn: Connection, copy: str) -> None:
    """Today's replies table with the old one's rows, foreign keys on all along.

    posts and surveys refer to replies: renaming it would make them refer to the new name
    (SQLite rewrites references when foreign keys are on, and they cannot be turned off
    inside a transaction). So the rows go to a copy, the table is dropped with the checks
    deferred to the commit, made again and refilled, which satisfies the references again.
    """
    old = [c["name"] for c in inspect(conn).get_columns("replies")]
    conn.execute(text(f"CREATE TABLE {copy} AS SELECT * FROM replies WHERE 0"))
    # The first write: pysqlite opens the transaction here, so the steps below are in it.
    copied = conn.execute(text(f"INSERT INTO {copy} SELECT * FROM replies")).rowcount
    conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
    for index in inspect(conn).get_indexes("replies"):
        conn.execute(text(f"DROP INDEX {index['name']}"))
    conn.execute(text("DROP TABLE replies"))
    schema.replies.create(conn)
    if copied:
        columns = ", ".join(c for c in old if c in schema.replies.c)
        conn.execute(text(f"INSERT INTO replies ({columns}) SELECT {columns} FROM {copy}"))
    conn.execute(text(f"DROP TABLE {copy}"))


# Kinds before version 8 carried ids: sla_<timer id>, csat_low_<survey id>[_<n>].
_ALERT_KIND = re.compile(r"sla_(\d+)")
_LOW_RATING_KIND = re.compile(r"csat_low_(\d+)(?:_\d+)?")


def _ids_out_of_kinds(conn: Connection) -> None:
    """The ids in kinds written before version 8 go to their columns; the kinds become plain
    (sla_alert, csat_low). A survey's own message gets its survey's id."""
    r, s = schema.replies, schema.surveys
    marked = or_(
        r.c.kind.like("sla\\_%", escape="\\"), r.c.kind.like("csat\\_low\\_%", escape="\\")
    )
    changes: list[tuple[int, str, int | None, int | None]] = []
    for row in conn.execute(select(r.c.id, r.c.kind).where(marked)):
        if found := _ALERT_KIND.fullmatch(row.kind):
            changes.append((row.id, "sla_alert", int(found.group(1)), None))
        elif found := _LOW_RATING_KIND.fullmatch(row.kind):
            changes.append((row.id, "csat_low", None, int(found.group(1))))
    if changes:
        conn.execute(
            update(r)
            .where(r.c.id == bindparam("b_id"))
            .values(
                kind=bindparam("b_kind"),
                sla_timer_id=bindparam("b_timer"),
                survey_id=bindparam("b_survey"),
            ),
            [
                {"b_id": i, "b_kind": kind, "b_timer": timer, "b_survey": survey}
                for i, kind, timer, survey in changes
            ],
        )
    if inspect(conn).has_table("surveys"):
        sent_as = select(s.c.id).where(s.c.reply_id == r.c.id).scalar_subquery()
        conn.execute(
            update(r)
            .where(r.c.survey_id.is_(None), r.c.id.in_(select(s.c.reply_id)))
            .values(survey_id=sent_as)
        )


def _v9_delivery_reports(conn: Connection) -> None:
    if not inspect(conn).has_table("replies"):
        return
    # Aware times, as UTCDateTime makes them in a new database (DateTime(timezone=True)).
    when = "TIMESTAMP WITH TIME ZONE" if conn.dialect.name == "postgresql" else "TIMESTAMP"
    columns = {"delivery": "VARCHAR(16)", "delivery_at": when, "delivery_error": "VARCHAR(300)"}
    _add_columns(conn, "replies", columns)
    if inspect(conn).has_table("posts"):
        existing = {i["name"] for i in inspect(conn).get_indexes("posts")}
        if "ix_posts_message" not in existing:
            conn.execute(text("CREATE INDEX ix_posts_message ON posts (channel, message_id)"))


def _v10_chat_files(conn: Connection) -> None:
    schema.metadata.create_all(conn, tables=[schema.chat_files])


def _v11_contacts(conn: Connection) -> None:
    schema.metadata.create_all(conn, tables=[schema.contacts, schema.contact_identities])
    if inspect(conn).has_table("tickets"):
        _add_columns(conn, "tickets", {"contact_id": "INTEGER"})
        existing = {i["name"] for i in inspect(conn).get_indexes("tickets")}
        if "ix_tickets_contact_id" not in existing:
            conn.execute(text("CREATE INDEX ix_tickets_contact_id ON tickets (contact_id)"))


def _v12_merged(conn: Connection) -> None:
    if inspect(conn).has_table("tickets"):
        _add_columns(conn, "tickets", {"merged_into": "INTEGER"})


def _v13_forget_log(conn: Connection) -> None:
    schema.metadata.create_all(conn, tables=[schema.forget_log])


def _v14_leases(conn: Connection) -> None:
    schema.metadata.create_all(conn, tables=[schema.leases])


def _v15_wider_ids(conn: Connection) -> None:
    # A WhatsApp wamid is a base64 blob that grows with the number it names; 64 characters
    # held every one seen, but not every one possible, and PostgreSQL refuses what overflows
    # (issue 19). Widening a VARCHAR is a catalog change there, no table rewrite. SQLite
    # keeps any length whatever the declared type: nothing to do.
    if conn.dialect.name != "postgresql":
        return
    for table, column in WIDER_IDS:
        if inspect(conn).has_table(table):
            conn.execute(
                text(f"ALTER TABLE {table} ALTER COLUMN {column} TYPE VARCHAR({ID_LENGTH})")
            )


# The provider ids (what a channel called what we sent) that were 64 characters wide.
WIDER_IDS = (("replies", "external_id"), ("posts", "message_id"))
ID_LENGTH = 400


def _v16_owners(conn: Connection) -> None:
    # Rows from before are nobody's: the first instance to claim takes them (storage.claims).
    for table in ("inbound", "replies"):
        if inspect(conn).has_table(table):
            _add_columns(conn, table, {"owner": "VARCHAR(200)"})


def _v17_health_by_instance(conn: Connection) -> None:
    # The key grows an instance column: rebuilt, not altered (SQLite cannot change a primary
    # key). Its rows are a running daemon's view, written again within a second of its start,
    # so none are carried over.
    if inspect(conn).has_table("channel_health"):
        present = {c["name"] for c in inspect(conn).get_columns("channel_health")}
        if "instance" in present:
            return
        conn.execute(text("DROP TABLE channel_health"))
    schema.metadata.create_all(conn, tables=[schema.channel_health])


# Append only: a released migration is never edited, so every database walks the same path.
MIGRATIONS: tuple[tuple[int, str, Migration], ...] = (
    (1, "initial schema", _v1_initial),
    (2, "rules on tickets, closed period on out-of-hours replies", _v2_rules_and_hours),
    (3, "Telegram: posts, ticket events, blocked customers", _v3_chat),
    (4, "SLA timers", _v4_sla),
    (5, "satisfaction surveys", _v5_surveys),
    (6, "failed tries to decide an inbound message", _v6_undecided),
    (7, "each channel's health, for status", _v7_channel_health),
    (8, "what a notice is about in columns, not in its kind", _v8_ids_in_columns),
    (
        9,
        "what the platform reported of each reply sent (delivered, read, failed)",
        _v9_delivery_reports,
    ),
    (10, "the website chat's files (images, PDFs)", _v10_chat_files),
    (11, "contacts: one person's identities across channels", _v11_contacts),
    (12, "merged tickets", _v12_merged),
    (13, "forget log: each person forgotten on request, without who", _v13_forget_log),
    (14, "leases: which instance holds each intake and the timers", _v14_leases),
    (15, "wider ids", _v15_wider_ids),
    (16, "which instance sends each reply and decides each message", _v16_owners),
    (17, "each instance's view of each channel's health", _v17_health_by_instance),
)

LATEST = MIGRATIONS[-1][0]


def current_version(conn: Connection) -> int:
    if not inspect(conn).has_table("schema_version"):
        return 0
    value = conn.execute(
        select(schema.schema_version.c.version)
        .order_by(schema.schema_version.c.version.desc())
        .limit(1)
    ).scalar()
    return int(value or 0)


def migrate(conn: Connection) -> int:
    """Bring the schema up to LATEST inside the caller's transaction; returns the version."""
    schema.metadata.create_all(conn, tables=[schema.schema_version])
    version = current_version(conn)
    if version > LATEST:
        raise StorageError(
            f"the database is at schema version {version}, newer than this responder "
            f"({LATEST}); upgrade responder or restore a matching backup"
        )
    for number, title, step in MIGRATIONS:
        if number <= version:
            continue
        log.info("applying database migration %d: %s", number, title)
        step(conn)
        conn.execute(
            schema.schema_version.insert().values(version=number, applied_at=datetime.now(UTC))
        )
        version = number
    return version
