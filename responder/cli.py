"""The command line: the only place that turns exceptions into exit codes."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from responder import __version__
from responder.errors import ConfigError, ConfigProblem, NoChannelWorks, ResponderError

if TYPE_CHECKING:
    # Imported when a command needs it: `--version` and `check` should not pay for the
    # channels, storage and IMAP client.
    from responder.app.logs import LogFormat

EX_OK = 0
EX_FAILURE = 1
EX_USAGE = 2
EX_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command stopped by Ctrl-C
EX_CONFIG = 78  # sysexits.h EX_CONFIG; systemd's RestartPreventExitStatus=78 stops a restart loop


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="responder", description="An always-on customer-service front desk."
    )
    parser.add_argument("--version", action="version", version=f"responder {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the daemon in the foreground")
    run.add_argument("-c", "--config", type=Path, required=True, help="the YAML config file")
    run.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="text lines (default) or one JSON object per line",
    )
    check = sub.add_parser("check", help="validate the config and templates, then exit")
    check.add_argument("-c", "--config", type=Path, required=True, help="the YAML config file")
    check.add_argument(
        "--connect",
        action="store_true",
        help="also sign in to every mail server and bot and say what to fix (sends nothing)",
    )
    simulate = sub.add_parser(
        "simulate", help="show what responder would do with a message; sends nothing"
    )
    simulate.add_argument("-c", "--config", type=Path, required=True, help="the YAML config file")
    simulate.add_argument("message", type=Path, help="the message, as an .eml file")
    simulate.add_argument(
        "--at",
        default=None,
        help='pretend it is this time: "sun 10:00", "10:00" (today), "tomorrow 9:00" or ISO '
        "8601, in the business timezone unless given an offset (default: the message's Date)",
    )
    simulate.add_argument("--channel", default=None, help="the channel it arrived on")
    simulate.add_argument("--json", action="store_true", help="print one JSON object")
    report = sub.add_parser(
        "report", help="print figures about the tickets opened in a period (read-only)"
    )
    report.add_argument("-c", "--config", type=Path, required=True, help="the YAML config file")
    report.add_argument(
        "--since",
        metavar="DATE",
        default=None,
        help="first day, YYYY-MM-DD in the business timezone (default: 30 days up to --until)",
    )
    report.add_argument(
        "--until", metavar="DATE", default=None, help="last day, included (default: today)"
    )
    report.add_argument(
        "--html", metavar="OUT.html", type=Path, default=None, help="also write an HTML page here"
    )
    install = sub.add_parser(
        "install-service", help="put the systemd unit and a first config in place (as root)"
    )
    install.add_argument(
        "--config",
        type=Path,
        default=Path("/etc/responder/config.yaml"),
        help="where the config lives (created from the example if absent)",
    )
    install.add_argument("--root", type=Path, default=Path("/"), help=argparse.SUPPRESS)
    install.add_argument("--force", action="store_true", help="replace an existing unit file")
    login = sub.add_parser(
        "login", help="sign a mailbox in with OAuth2 (Google Workspace, Microsoft 365), once"
    )
    login.add_argument("-c", "--config", type=Path, required=True, help="the YAML config file")
    login.add_argument("channel", help="the email channel's name")
    _ops_parsers(sub)
    demo = sub.add_parser(
        "demo", help="run the daemon against a local Dovecot and SMTP server with sample mail"
    )
    demo.add_argument(
        "--dir", type=Path, default=None, help="keep the demo's files here (default: removed)"
    )
    demo.add_argument(
        "--serve",
        action="store_true",
        help="keep running after the samples are answered (Ctrl-C stops)",
    )
    demo_send = demo.add_subparsers(dest="demo_command", metavar="send").add_parser(
        "send", help="send a running demo (--serve) a new customer mail"
    )
    demo_send.add_argument("--dir", type=Path, required=True, help="the folder the demo runs in")
    demo_send.add_argument(
        "--from", dest="sender", default=None, help="the customer (default: dewi@example.com)"
    )
    demo_send.add_argument("subject", help="the mail's subject")
    demo_send.add_argument("body", help="the mail's text")
    return parser


def _ops_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """status, export, purge, backup: safe beside the running daemon (responder.ops)."""
    status = sub.add_parser("status", help="what is open, waiting and failing now (read-only)")
    status.add_argument("-c", "--config", type=Path, required=True, help="the YAML config file")
    status.add_argument("--json", action="store_true", help="print one JSON object")
    export = sub.add_parser("export", help="write tickets with their messages (read-only)")
    export.add_argument("-c", "--config", type=Path, required=True, help="the YAML config file")
    export.add_argument("--since", metavar="DATE", help="tickets opened on or after this day")
    export.add_argument("--until", metavar="DATE", help="tickets opened on or before this day")
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    export.add_argument("--out", metavar="PATH", type=Path, help="write here (default: stdout)")
    export.add_argument("--no-bodies", action="store_true", help="metadata only, no texts")
    purge = sub.add_parser("purge", help="blank texts older than retention.bodies_after")
    purge.add_argument("-c", "--config", type=Path, required=True, help="the YAML config file")
    purge.add_argument("--dry-run", action="store_true", help="count only; change nothing")
    backup = sub.add_parser("backup", help="copy the SQLite database online, then check it")
    backup.add_argument("-c", "--config", type=Path, required=True, help="the YAML config file")
    backup.add_argument("out", metavar="OUT.db", type=Path, help="the copy to write")
    backup.add_argument("--force", action="store_true", help="overwrite OUT.db if it exists")


def setup_logging(level: str, fmt: LogFormat = "text") -> None:
    """See responder.app.logs; imported on use, as `--version` need not pay for it."""
    from responder.app import logs

    logs.setup_logging(level, fmt)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "check":
            return _check(args.config, strict_secrets=args.connect, connect=args.connect)
        if args.command == "run":
            return _run(args.config, args.log_format)
        if args.command == "simulate":
            return _simulate(args)
        if args.command == "report":
            return _report(args)
        if args.command == "install-service":
            return _install(args)
        if args.command == "login":
            from responder.ops.login import login

            login(args.config, args.channel, sys.stdin, sys.stdout)
            return EX_OK
        if args.command in ("status", "export", "purge", "backup"):
            from responder.ops import commands

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
    summary = f"{path}: OK ({len(config.channels)} channel(s))"
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
    result = simulate(config, raw, at, args.channel)
    print(json.dumps(result, ensure_ascii=False, indent=2) if args.json else describe(result))
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


def _run(path: Path, log_format: LogFormat = "text") -> int:
    """Load the config, build the daemon and run it (responder.app.lifecycle) until stopped."""
    from responder.app.daemon import App
    from responder.app.lifecycle import serve
    from responder.app.logs import redact_config
    from responder.config import load_config

    config = load_config(path)
    setup_logging(config.log_level, log_format)
    redact_config(config)  # no log line carries a password or token, even by mistake
    asyncio.run(serve(App(config), path))
    return EX_OK


if __name__ == "__main__":
    raise SystemExit(main())
