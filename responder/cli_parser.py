"""The command line's grammar: every command, its arguments and their help."""

from __future__ import annotations

import argparse
from pathlib import Path

from responder import __version__


def parser() -> argparse.ArgumentParser:
    """Every command with its arguments; `args.command` names the one given."""
    top = argparse.ArgumentParser(
        prog="responder", description="An always-on customer-service front desk."
    )
    top.add_argument("--version", action="version", version=f"responder {__version__}")
    sub = top.add_subparsers(dest="command", required=True)
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
    simulate.add_argument(
        "message",
        type=Path,
        help="the message: an .eml file, the JSON body of a WhatsApp webhook (each "
        "customer message in it is decided, on the channel of its phone_number_id), or a "
        'web chat message as JSON: {"visitor": "budi", "text": "...", "language": "id"}',
    )
    simulate.add_argument(
        "--at",
        default=None,
        help='pretend it is this time: "sun 10:00", "10:00" (today), "tomorrow 9:00" or ISO '
        "8601, in the business timezone unless given an offset (default: the message's Date)",
    )
    simulate.add_argument("--channel", default=None, help="the channel it arrived on")
    simulate.add_argument(
        "--json",
        action="store_true",
        help="print one JSON object (a list of them for a webhook with several messages)",
    )
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
    return top


def _ops_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """status, export, purge, backup, contact, forget: safe beside the running daemon
    (responder.ops)."""
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
    copy = sub.add_parser(
        "copy-db",
        help="copy a SQLite database (stop the daemon first) into the configured database_url",
    )
    copy.add_argument("-c", "--config", type=Path, required=True, help="the YAML config file")
    copy.add_argument(
        "--from",
        dest="source",
        metavar="SQLITE_FILE",
        type=Path,
        required=True,
        help="the shop's responder.db",
    )
    contact = sub.add_parser(
        "contact",
        help="a customer's identities and tickets across channels; `contact link A B` makes "
        "two identities one customer",
    )
    contact.add_argument("-c", "--config", type=Path, required=True, help="the YAML config file")
    contact.add_argument("--json", action="store_true", help="print one JSON object")
    contact.add_argument(
        "identity",
        nargs="+",
        metavar="IDENTITY",
        help="an email address, +62... (WhatsApp), tg:ID, web:ID or a ticket reference; or "
        "`link` and two of those",
    )
    forget = sub.add_parser(
        "forget",
        help="erase a customer's texts and identities on request (UU PDP 27/2022, GDPR "
        "article 17), keeping the figures",
    )
    forget.add_argument("-c", "--config", type=Path, required=True, help="the YAML config file")
    forget.add_argument(
        "identity",
        metavar="IDENTITY",
        help="an email address, +62... (WhatsApp), tg:ID, web:ID or a ticket reference",
    )
    forget.add_argument("--yes", action="store_true", help="do not ask before erasing")
    forget.add_argument("--dry-run", action="store_true", help="show what would go; change nothing")
    forget.add_argument("--json", action="store_true", help="print one JSON object")
