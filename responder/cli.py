"""The command line: the only place that turns exceptions into exit codes."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from responder.cli_parser import parser
from responder.errors import ConfigError, ConfigProblem, NoChannelWorks, ResponderError

if TYPE_CHECKING:
    # Imported when a command needs it: `--version` and `check` should not pay for the
    # channels, storage and IMAP client.
    from datetime import datetime

    from responder.app.logs import LogFormat
    from responder.config import Config

EX_OK = 0
EX_FAILURE = 1
EX_USAGE = 2
EX_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command stopped by Ctrl-C
EX_CONFIG = 78  # sysexits.h EX_CONFIG; systemd's RestartPreventExitStatus=78 stops a restart loop


def setup_logging(level: str, fmt: LogFormat = "text") -> None:
    """See responder.app.logs; imported on use, as `--version` need not pay for it."""
    from responder.app import logs

    logs.setup_logging(level, fmt)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "check":
            return _check(args.config, strict_secrets=args.connect, connect=args.connect)
        if args.command == "run":
            return _run(args.config, args.log_format)
        if args.command == "simulate":
            return _simulate(args)
        if args.command == "report":
            return _report(args)
        if args.command == "copy-db":
            return _copy_db(args)
        if args.command == "install-service":
            return _install(args)
        if args.command == "login":
            from responder.ops.login import login

            login(args.config, args.channel, sys.stdin, sys.stdout)
            return EX_OK
        if args.command in ("status", "export", "purge", "backup", "contact", "forget"):
            from responder.ops import commands

            if args.command == "forget":
                setup_logging("info")  # its one log line: what was erased, never who

            return int(getattr(commands, args.command)(args))
        if args.command == "demo" and args.demo_command == "send":
            from responder.testing.demo_send import send

            return send(args.dir, args.subject, args.body, args.sender)
        if args.command == "demo":
            from responder.testing.demo import run_demo

            setup_logging("info")
            return asyncio.run(run_demo(args.dir, serve=args.serve))
    except ConfigError as exc:
        print(f"responder: configuration error:\n{exc}", file=sys.stderr)
        return EX_CONFIG
    except NoChannelWorks as exc:  # the settings are wrong: a restart would fail the same way
        print(f"responder: {exc}", file=sys.stderr)
        return EX_CONFIG
    except ResponderError as exc:
        print(f"responder: {exc}", file=sys.stderr)
        return EX_FAILURE
    except KeyboardInterrupt:
        # The daemon and the demo stop on Ctrl-C as asked; any other command was cut short.
        return EX_OK if args.command in ("run", "demo") else EX_INTERRUPTED
    return EX_USAGE


def _install(args: argparse.Namespace) -> int:
    from responder.ops.install import install, next_steps

    config = args.config if args.config.is_absolute() else args.config.absolute()
    print(next_steps(install(args.root, config, force=args.force), config))
    return EX_OK


def _check(path: Path, strict_secrets: bool = False, connect: bool = False) -> int:
    """Without strict_secrets a secret that cannot be read here is a warning: the service
    may well get it (systemd credentials, its own environment), and `run` insists."""
    from responder.config import load_config
    from responder.services.settings import build_settings

    config = load_config(path, secrets="require" if strict_secrets else "warn")
    build_settings(config)
    _print_warnings(config.warnings)
    from responder.config.database import describe

    database = describe(config.database_url, str(config.state_dir / "responder.db"))
    summary = f"{path}: OK ({len(config.channels)} channel(s); database: {database})"
    if config.warnings:
        summary += f", {len(config.warnings)} warning(s): fix them before starting the service"
    print(summary)
    if connect:
        from responder.ops.connect import check_connections

        return EX_OK if check_connections(config, path) else EX_FAILURE
    return EX_OK


def _print_warnings(warnings: Sequence[ConfigProblem]) -> None:
    for problem in warnings:
        print(f"warning: {problem}", file=sys.stderr)


def _simulate(args: argparse.Namespace) -> int:
    import json

    from responder.config import load_config
    from responder.ops.simulate import describe, parse_when, simulate
    from responder.ops.simulate_time import ACCEPTED_FORMS
    from responder.ops.simulate_whatsapp import BadMessage

    config = load_config(args.config, secrets="skip")  # it sends nothing: no secret needed
    try:
        at = parse_when(args.at, config)
    except ValueError:
        print(
            f"responder: --at: cannot read {args.at!r} as a time; write {ACCEPTED_FORMS}",
            file=sys.stderr,
        )
        return EX_USAGE
    if args.channel is not None and args.channel not in {c.name for c in config.channels}:
        print(f"responder: --channel: no channel named {args.channel!r}", file=sys.stderr)
        return EX_USAGE
    try:
        raw = args.message.read_bytes()
    except OSError as exc:
        print(f"responder: cannot read {args.message}: {exc.strerror}", file=sys.stderr)
        return EX_USAGE
    try:
        results = simulate(config, raw, at, args.channel)
    except BadMessage as exc:
        print(f"responder: {args.message}: {exc}", file=sys.stderr)
        return EX_USAGE
    if args.json:
        # An email, or a webhook with one message: one object; a webhook with several: a list.
        shown: object = results[0] if len(results) == 1 else results
        print(json.dumps(shown, ensure_ascii=False, indent=2))
        return EX_OK
    print(describe(results))
    return EX_OK


def _report(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from responder.config import load_config
    from responder.config.calendar import build_calendar
    from responder.config.sla import build_policies
    from responder.report.figures import compute
    from responder.report.html import render_html
    from responder.report.load import read_report_data
    from responder.report.period import parse_period
    from responder.report.terminal import print_report

    config = load_config(args.config, secrets="skip")  # reads the database only
    calendar = build_calendar(config.business_hours, config.timezone)
    now = datetime.now(UTC)
    try:
        period = parse_period(args.since, args.until, calendar.timezone, now)
    except ValueError as exc:
        print(f"responder: {exc}", file=sys.stderr)
        return EX_USAGE
    data = read_report_data(config.database_url_resolved, period)
    figures = compute(data, period, calendar, build_policies(config.sla), now)
    print_report(figures, sys.stdout)
    if args.html is not None:
        try:
            args.html.write_text(render_html(figures), encoding="utf-8")
        except OSError as exc:
            print(f"responder: cannot write {args.html}: {exc.strerror}", file=sys.stderr)
            return EX_FAILURE
        print(f"HTML report written to {args.html}")
    return EX_OK


def _copy_db(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from responder.config import load_config
    from responder.ops.copy_db import copy_db

    config = load_config(args.config, secrets="skip")  # the database only
    now = datetime.now(UTC)  # one instant for both reports: their running clocks compared
    copied = copy_db(
        args.source,
        config.database_url_resolved,
        progress=lambda table, n: print(f"  {table}: {n} rows", file=sys.stderr),
        same_report=lambda before, after: (
            _figures(config, before, now) == _figures(config, after, now)
        ),
    )
    width = max(len(name) for name, _, _ in copied.counts)
    print(f"{copied.source} -> {copied.target}")
    for name, before, after in copied.counts:
        verdict = "same" if before == after else "DIFFERENT"
        print(f"  {name:<{width}}  {before:>8}  {after:>8}  {verdict}")
    alike = "the same report" if copied.same_report else "a DIFFERENT report"
    print(f"{'every table has the same rows' if copied.same else 'rows DIFFER'}; {alike}")
    return EX_OK if copied.same and copied.same_report else EX_FAILURE


def _figures(config: Config, url: str, now: datetime) -> object:
    """The report's figures for every ticket ever, read from url, as of now."""
    from responder.config.calendar import build_calendar
    from responder.config.sla import build_policies
    from responder.report.figures import compute
    from responder.report.load import read_report_data
    from responder.report.period import parse_period

    calendar = build_calendar(config.business_hours, config.timezone)
    period = parse_period("2000-01-01", None, calendar.timezone, now)
    return compute(read_report_data(url, period), period, calendar, build_policies(config.sla), now)


def _run(path: Path, log_format: LogFormat = "text") -> int:
    """Load the config, build the daemon and run it (responder.app.lifecycle) until stopped."""
    from responder.app.daemon import App
    from responder.app.lifecycle import serve
    from responder.app.logs import redact_config
    from responder.config import load_config

    config = load_config(path)
    setup_logging(config.log_level, log_format)
    redact_config(config)  # no log line carries a password or token, even by mistake
    app = App(config)
    asyncio.run(serve(app, path))
    if app.store.abandoned:
        # The stop left a unit of work the database did not answer (app.shutdown): exit now,
        # not once it times out; the database rolls it back, as after kill -9.
        logging.shutdown()
        os._exit(EX_OK)
    return EX_OK


if __name__ == "__main__":
    raise SystemExit(main())
