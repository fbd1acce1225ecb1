"""The command line: the only place that turns exceptions into exit codes."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from responder import __version__
from responder.errors import ConfigError, ResponderError

if TYPE_CHECKING:
    # Imported when a command needs it: `--version` and `check` should not pay for the
    # channels, storage and IMAP client.
    from responder.app import App

EX_OK = 0
EX_FAILURE = 1
EX_USAGE = 2
EX_CONFIG = 78  # sysexits.h EX_CONFIG; systemd's RestartPreventExitStatus=78 stops a restart loop

log = logging.getLogger("responder")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="responder", description="An always-on customer-service front desk."
    )
    parser.add_argument("--version", action="version", version=f"responder {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the daemon in the foreground")
    run.add_argument("-c", "--config", type=Path, required=True, help="the YAML config file")
    check = sub.add_parser("check", help="validate the config and templates, then exit")
    check.add_argument("-c", "--config", type=Path, required=True, help="the YAML config file")
    simulate = sub.add_parser(
        "simulate", help="show what responder would do with a message; sends nothing"
    )
    simulate.add_argument("-c", "--config", type=Path, required=True, help="the YAML config file")
    simulate.add_argument("message", type=Path, help="the message, as an .eml file")
    simulate.add_argument(
        "--at",
        default=None,
        help="pretend it is this time (ISO 8601; without an offset, the business hours' timezone)",
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
    demo = sub.add_parser(
        "demo", help="run the daemon against a local Dovecot and SMTP server with sample mail"
    )
    demo.add_argument("--dir", type=Path, default=None, help="keep the demo's files here")
    demo.add_argument(
        "--serve",
        action="store_true",
        help="keep running after the samples are answered (Ctrl-C stops)",
    )
    return parser


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # aioimaplib logs every line it sends at DEBUG, LOGIN included; never let it through.
    logging.getLogger("aioimaplib").setLevel(logging.WARNING)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "check":
            return _check(args.config)
        if args.command == "run":
            return _run(args.config)
        if args.command == "simulate":
            return _simulate(args)
        if args.command == "report":
            return _report(args)
        if args.command == "demo":
            from responder.demo import run_demo

            setup_logging("info")
            return asyncio.run(run_demo(args.dir, serve=args.serve))
    except ConfigError as exc:
        print(f"responder: configuration error:\n{exc}", file=sys.stderr)
        return EX_CONFIG
    except ResponderError as exc:
        print(f"responder: {exc}", file=sys.stderr)
        return EX_FAILURE
    except KeyboardInterrupt:
        return EX_OK
    return EX_USAGE


def _check(path: Path) -> int:
    from responder.config import load_config
    from responder.settings import build_settings

    config = load_config(path)
    build_settings(config)
    print(f"{path}: OK ({len(config.channels)} channel(s))")
    return EX_OK


def _simulate(args: argparse.Namespace) -> int:
    import json

    from responder.config import load_config
    from responder.simulate import describe, parse_when, simulate

    config = load_config(args.config)
    try:
        at = parse_when(args.at, config)
    except ValueError:
        print(f"responder: --at: expected an ISO 8601 time, got {args.at!r}", file=sys.stderr)
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
    from responder.config_calendar import build_calendar
    from responder.config_sla import build_policies
    from responder.report.figures import compute
    from responder.report.html import render_html
    from responder.report.load import read_report_data
    from responder.report.period import parse_period
    from responder.report.terminal import print_report

    config = load_config(args.config)
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


def _run(path: Path) -> int:
    from responder.app import App
    from responder.config import load_config

    config = load_config(path)
    setup_logging(config.log_level)
    asyncio.run(_serve(App(config), path))
    return EX_OK


async def _serve(app: App, path: Path) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, lambda: _reload(app, path))
    try:
        await app.start()
    except BaseException:
        # A start that fails half way (the http port taken, say) closes what it opened.
        await app.stop()
        raise
    try:
        await stop.wait()
        log.info("signal received; stopping")
    finally:
        await app.stop()


def _reload(app: App, path: Path) -> None:
    """SIGHUP: re-read the config, rules and templates; keep the old ones if they are bad."""
    from responder.config import load_config

    log.info("SIGHUP: reloading %s", path)
    try:
        config = load_config(path)
    except ConfigError as exc:
        log.error("reload refused; keeping the running configuration:\n%s", exc)
        return
    app.reload(config)


if __name__ == "__main__":
    raise SystemExit(main())
