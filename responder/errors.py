"""The exception tree: what can go wrong, and whether trying again can help.

ResponderError
├── ConfigError          the admin's files are wrong; the CLI exits 78 (EX_CONFIG)
├── StorageError         the database cannot be opened or migrated; fatal for the process
│   └── StorageUnavailable   a read or write refused for a passing reason (disk full,
│                            read-only, I/O error, locked): the work is retried, never dropped
├── ServiceError         a service the daemon runs could not start (the HTTP port is taken)
└── ChannelError         one channel's trouble; never stops the others
    ├── TransientError   worth retrying with backoff (SMTP 4xx, timeouts, dropped connections)
    │   └── ChannelDown  the server is out of reach: replies wait for it to come back
    └── PermanentError   retrying cannot help (SMTP 5xx, login refused); park and report
        └── RecipientBlocked  the customer blocked the bot (Telegram 403); marked, not retried
"""

from __future__ import annotations

import logging
from dataclasses import dataclass


class ResponderError(Exception):
    """Base of every error responder raises on purpose."""


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in a config or template file, located for the admin."""

    file: str
    line: int | None
    column: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(ResponderError):
    """The configuration (or a template) is invalid; lists every problem found."""

    def __init__(self, problems: list[ConfigProblem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class StorageError(ResponderError):
    """The database could not be opened or migrated."""


class StorageUnavailable(StorageError):
    """The database refused one read or write (disk full, read-only, I/O error, locked).

    Its text names the cause and the database, in one line for the log: the caller retries
    with backoff instead of logging a traceback each time (issue 13)."""


class ServiceError(ResponderError):
    """A service the daemon runs (the HTTP endpoint) could not start; fatal at start-up."""


class ChannelError(ResponderError):
    """A channel could not receive or send."""


class TransientError(ChannelError):
    """A failure that may pass: retry with backoff and jitter."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ChannelDown(TransientError):
    """The channel's server is out of reach or refuses all service (connection refused or
    lost, a timeout, SMTP 421, our login refused): the fault is the server's, not the
    reply's, so the reply waits for the server to come back rather than for its own
    backoff. A refusal that names the recipient (SMTP 451 greylisting) is a plain
    TransientError."""


class PermanentError(ChannelError):
    """A failure that will not pass by retrying: park the work and report it."""


class RecipientBlocked(PermanentError):
    """The recipient refuses our messages (blocked the bot); they are marked until they
    write again."""


def log_fault(log: logging.Logger, exc: BaseException, message: str, *args: object) -> None:
    """Log a failed unit of work once, in one line: a known passing fault (a full disk) with
    its cause and no traceback (that goes to debug), anything else as the bug it is."""
    if isinstance(exc, StorageUnavailable | TransientError):
        log.warning(message + ": %s", *args, exc)
        log.debug("the fault in full", exc_info=exc)
    else:
        log.error(message, *args, exc_info=exc)
