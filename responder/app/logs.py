"""Logging set-up: one line per event, journald priorities under systemd, optional JSON."""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from responder.common.redact import SecretFilter, config_secrets

LogFormat = Literal["text", "json"]
FORMATS: tuple[LogFormat, ...] = ("text", "json")

# sd-daemon(3): a line written to a stream connected to the journal may start with "<N>", the
# syslog priority; journald strips it and files the line at that priority.
_PRIORITY = (
    (logging.CRITICAL, 2),  # SD_CRIT
    (logging.ERROR, 3),  # SD_ERR
    (logging.WARNING, 4),  # SD_WARNING
    (logging.INFO, 6),  # SD_INFO
)
SD_DEBUG = 7

# The one filter on our handler; reload registers the new config's secrets with it.
SECRETS = SecretFilter()
_installed: list[logging.Handler] = []


def priority(levelno: int) -> int:
    return next((p for level, p in _PRIORITY if levelno >= level), SD_DEBUG)


def one_line(text: str) -> str:
    """A newline would start a new journal entry (without our priority): escape it."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


class LineFormatter(logging.Formatter):
    """`time level logger: message` on a terminal; `<N>logger: message` for journald, which
    stamps each line itself."""

    def __init__(self, journal: bool) -> None:
        fmt = (
            "%(name)s: %(message)s"
            if journal
            else "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
        )
        super().__init__(fmt)
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        line = one_line(super().format(record))
        return f"<{priority(record.levelno)}>{line}" if self.journal else line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts (ISO 8601, UTC), level, logger, message, exc. Under
    journald the line still starts with "<N>": journald strips it, MESSAGE= stays JSON."""

    def __init__(self, journal: bool) -> None:
        super().__init__()
        self.journal = journal

    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        exc = "\n".join(filter(None, (record.exc_text, record.stack_info)))
        if exc:
            event["exc"] = exc
        line = json.dumps(event, ensure_ascii=False, default=str)
        return f"<{priority(record.levelno)}>{line}" if self.journal else line


def journal_stream(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """Whether `stream` is systemd's journal: systemd.exec(5) puts "dev:ino" of the stream it
    connected in $JOURNAL_STREAM; a match (not just the variable) means our stderr is still
    that stream, not redirected by a wrapper script."""
    value = (os.environ if environ is None else environ).get("JOURNAL_STREAM", "")
    try:
        dev, ino = (int(part) for part in value.split(":"))
        st = os.fstat(stream.fileno())
    except (ValueError, OSError, AttributeError):
        return False
    return (st.st_dev, st.st_ino) == (dev, ino)


def setup_logging(
    level: str,
    fmt: LogFormat = "text",
    *,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
) -> logging.Handler:
    """Send every record at `level` and above to stderr (or `stream`), one line each, with
    `secrets` and credentials blanked. Calling it again replaces the handler it installed."""
    out = sys.stderr if stream is None else stream
    journal = journal_stream(out)
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter(journal) if fmt == "json" else LineFormatter(journal))
    SECRETS.add(*secrets)
    handler.addFilter(SECRETS)
    root = logging.getLogger()
    for old in _installed:
        root.removeHandler(old)
    _installed[:] = [handler]
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper()))
    # aioimaplib logs every line it sends at DEBUG, LOGIN included; never let it through.
    logging.getLogger("aioimaplib").setLevel(logging.WARNING)
    # APScheduler only wakes us (the timer rows are the record): one INFO line per job
    # added or run would bury the log under thousands of SLA and survey timers.
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    return handler


def redact_config(config: Any) -> None:
    """Register every secret of a (re)loaded config with the log filter."""
    SECRETS.add(*config_secrets(config))
