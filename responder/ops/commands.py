"""The status, export, purge, backup, contact and forget subcommands, called by
responder.cli."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from responder.config import Config, load_config
from responder.errors import StorageError
from responder.ops.db import run_on_database

EX_OK, EX_FAILURE, EX_USAGE = 0, 1, 2


def _zone(config: Config) -> ZoneInfo:
    # The business hours' timezone, as `responder report` counts days in.
    hours = config.business_hours
    return ZoneInfo(hours.timezone if hours is not None and hours.timezone else config.timezone)


def status(args: argparse.Namespace) -> int:
    from responder.ops.status import describe, read_status

    config = load_config(args.config, secrets="skip")  # reads the database only
    now = datetime.now(UTC)
    names = [c.name for c in config.channels]
    url = config.database_url_resolved
    found = run_on_database(url, "status", read_status, now, _zone(config), names)
    if args.json:
        print(json.dumps(found, ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(describe(found, _where(url)))
    return EX_OK


def _where(url: str) -> str:
    from responder.ops.db import sqlite_path

    path = sqlite_path(url)
    return str(path) if path is not None else "the database"


def _day(flag: str, value: str | None, zone: ZoneInfo, after: int = 0) -> datetime | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{flag}: expected a date YYYY-MM-DD, got {value!r}") from None
    return datetime.combine(day + timedelta(days=after), datetime.min.time(), zone)


def export(args: argparse.Namespace) -> int:
    from responder.ops.export import write_export

    config = load_config(args.config, secrets="skip")  # reads the database only
    zone = _zone(config)
    try:
        since = _day("--since", args.since, zone)
        until = _day("--until", args.until, zone, after=1)  # the last day is included
    except ValueError as exc:
        print(f"responder: {exc}", file=sys.stderr)
        return EX_USAGE
    if since is not None and until is not None and since >= until:
        print(f"responder: --since {args.since} is after --until {args.until}", file=sys.stderr)
        return EX_USAGE
    url, bodies = config.database_url_resolved, not args.no_bodies
    if args.out is None:
        run_on_database(url, "export", write_export, sys.stdout, since, until, args.format, bodies)
        return EX_OK
    try:
        out: TextIO = args.out.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        raise StorageError(f"cannot write {args.out}: {exc.strerror}") from None
    with out:
        count = run_on_database(url, "export", write_export, out, since, until, args.format, bodies)
    print(f"{count} ticket(s) written to {args.out}", file=sys.stderr)
    return EX_OK


def purge(args: argparse.Namespace) -> int:
    from responder.storage.retention import BATCH, PurgeCounts, purge_bodies

    config = load_config(args.config, secrets="skip")  # reads the database only
    if config.retention is None:
        raise StorageError(
            f"{args.config} has no retention section: nothing says how long to keep texts"
        )
    keep = config.retention.bodies_after
    before = datetime.now(UTC) - keep
    url = config.database_url_resolved
    if args.dry_run:
        counts = run_on_database(url, "purge", purge_bodies, before, dry_run=True)
    else:
        # Short transactions, as the daemon's own purge: its writes never wait for long.
        counts = PurgeCounts()
        while True:
            step = run_on_database(url, "purge", purge_bodies, before, limit=BATCH, read_only=False)
            counts += step
            if step.largest < BATCH:
                break
    verb = "would blank" if args.dry_run else "blanked"
    print(
        f"{verb} the texts older than {before.astimezone(_zone(config)):%Y-%m-%d %H:%M} "
        f"(retention.bodies_after): {counts.inbound} incoming message(s), "
        f"{counts.replies} reply(ies), {counts.events} staff reply/note text(s), "
        f"{counts.comments} survey comment(s), {counts.files} web chat file(s)"
    )
    return EX_OK


def backup(args: argparse.Namespace) -> int:
    from responder.ops.backup import backup as copy

    config = load_config(args.config, secrets="skip")  # reads the database only
    result = copy(config.database_url_resolved, Path(args.out), force=args.force)
    print(
        f"{result.source} copied to {result.out} ({result.pages} pages, {result.size} bytes); "
        "integrity_check: ok"
    )
    return EX_OK


def contact(args: argparse.Namespace) -> int:
    """`responder contact IDENTITY` reads; `responder contact link A B` writes (issue 18)."""
    from responder.ops.contact import describe_contact, link, read_contact

    config = load_config(args.config, secrets="skip")  # the database only
    kinds = {c.name: c.type for c in config.channels}
    url, words = config.database_url_resolved, args.identity
    if words[0] == "link":
        if len(words) != 3:
            print("responder: contact link takes two identities or tickets", file=sys.stderr)
            return EX_USAGE
        now = datetime.now(UTC)
        found = run_on_database(
            url, "contact", link, words[1], words[2], kinds, now, read_only=False
        )
    elif len(words) == 1:
        found = run_on_database(url, "contact", read_contact, words[0], kinds)
    else:
        print("responder: contact takes one identity (or: contact link A B)", file=sys.stderr)
        return EX_USAGE
    if args.json:
        print(json.dumps(found, ensure_ascii=False, indent=2))
    else:
        if words[0] == "link":
            print(f"linked {words[1]} and {words[2]}: one contact now")
        sys.stdout.write(describe_contact(found, _zone(config)))
    return EX_OK


def forget(args: argparse.Namespace) -> int:
    """`responder forget IDENTITY`: erase a person on request, after the admin confirms."""
    import getpass
    import logging

    from responder.ops.forget import (
        counted,
        describe_preview,
        describe_result,
        preview,
        run_forget,
    )

    config = load_config(args.config, secrets="skip")  # the database only
    kinds = {c.name: c.type for c in config.channels}
    url = config.database_url_resolved
    found = run_on_database(url, "forget", preview, args.identity, kinds)
    if args.dry_run:
        if args.json:
            print(json.dumps({"dry_run": True, **found}, ensure_ascii=False, indent=2))
        else:
            sys.stdout.write(describe_preview(found) + "Nothing erased (--dry-run).\n")
        return EX_OK
    if not args.yes:
        if not sys.stdin.isatty():
            print(
                "responder: forget erases for good and asks first: run it in a terminal, "
                "or add --yes; nothing erased",
                file=sys.stderr,
            )
            return EX_USAGE
        sys.stderr.write(describe_preview(found))
        sys.stderr.write("Erase this for good? It cannot be undone. Type yes: ")
        sys.stderr.flush()
        if sys.stdin.readline().strip().lower() not in ("yes", "ya"):
            print("responder: not confirmed; nothing erased", file=sys.stderr)
            return EX_FAILURE
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no login name and no passwd entry (a bare container)
        user = "unknown"
    now = datetime.now(UTC)
    done = run_on_database(
        url, "forget", run_forget, args.identity, kinds, now, user, read_only=False
    )
    # The log names the forget log's row and the counts, never the person.
    logging.getLogger("responder.forget").info(
        "forget: a customer was forgotten on request by %s (forget log %d): %s",
        user,
        done["log"],
        counted(done["erased"]),
    )
    if args.json:
        print(json.dumps(done, ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(describe_result(done))
    return EX_OK
