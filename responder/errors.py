"""The exception tree: what can go wrong, and whether trying again can help.

ResponderError
├── ConfigError          the admin's files are wrong; the CLI exits 78 (EX_CONFIG)
├── StorageError         the database cannot be opened or migrated; fatal for the process
│   ├── StorageUnavailable   a read or write refused for a passing reason (disk full,
│   │                        read-only, I/O error, locked): the work is retried, never dropped
│   └── StorageRefused       the database refused a value (PostgreSQL: out of range, not
│                            valid text): that row is parked and reported, the rest go on
├── ServiceError         a service the daemon runs could not start (the HTTP port is taken)
├── NoChannelWorks       every channel failed at start for a reason only the admin can fix;
│                        the CLI exits 78 (EX_CONFIG): restarting cannot help
├── LoginFailed          `responder login` did not complete; the text says what to try
└── ChannelError         one channel's trouble; never stops the others
    ├── TransientError   worth retrying with backoff (SMTP 4xx, timeouts, dropped connections)
    │   └── ChannelDown  the server is out of reach: replies wait for it to come back
    │       └── SignInRefused  the server refused our credentials: the channel is failed
    │           │              until the admin fixes them; replies wait, retried slowly
    │           ├── SignInExpired  the saved OAuth2 sign-in cannot be used: the grant was
    │           │   │              revoked or expired (`responder login` again), or:
    │           │   ├── NotSignedIn       `responder login` was never run for the mailbox
    │           │   ├── SignInUnreadable  the daemon's user may not read the saved sign-in
    │           │   └── OAuthAppRefused   the sign-in service refused the app (its registration)
    │           └── TokenRefused   the server refuses the OAuth2 token itself
    └── PermanentError   retrying cannot help (SMTP 5xx); park and report
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


class StorageRefused(StorageError):
    """The database refused a value of one unit of work (SQLAlchemy's DataError: a number
    out of range, a value PostgreSQL will not store as text), where SQLite may have taken it.

    Not passing: the same row is refused again. The dispatcher decides the rest of its batch
    one by one, tries the refused message again slowly and shows it under `Undecided` in
    `responder status` (migration 6); intake and the outbox log it and go on (issue 19)."""


class ServiceError(ResponderError):
    """A service the daemon runs (the HTTP endpoint) could not start; fatal at start-up."""


class NoChannelWorks(ResponderError):
    """Start-up settled with every channel failed for a reason only the admin can fix (a
    refused password, a missing folder): one line per channel, with what to do."""

    def __init__(self, reasons: list[str]) -> None:
        self.reasons = reasons
        lines = "".join(f"\n  {reason}" for reason in reasons)
        super().__init__(
            f"no channel can work, so responder stops; fix these and start it again:{lines}"
        )


class LoginFailed(ResponderError):
    """`responder login`'s sign-in did not complete; the text says why and what to try."""


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


class SignInRefused(ChannelDown):
    """The server refused our credentials (IMAP AUTHENTICATIONFAILED, RFC 5530; SMTP 535,
    RFC 4954; Telegram 401). Retrying with the same ones cannot help, yet the mail waiting
    is not the mail's fault: the channel is failed until the admin fixes the credentials
    (and reloads), while replies wait for it."""


class SignInExpired(SignInRefused):
    """The OAuth2 sign-in saved for a mailbox cannot be used, found before any mail server is
    asked: the grant was revoked or has expired (RFC 6749 section 5.2, invalid_grant), so only
    a new `responder login` helps. Its subclasses are the causes another remedy fixes."""


class NotSignedIn(SignInExpired):
    """No sign-in is saved for the mailbox: `responder login` was never run for it."""

    def __init__(self, channel: str, path: object) -> None:
        super().__init__(f"no OAuth2 sign-in is saved for {channel} ({path} does not exist)")


class SignInUnreadable(SignInExpired):
    """The saved sign-in is there, but this process's user may not read it (the text names
    both); `remedy` says who should own it, `login_helps` whether `responder login` run
    again as root would hand it over."""

    def __init__(self, message: str, remedy: str, login_helps: bool) -> None:
        super().__init__(message)
        self.remedy = remedy
        self.login_helps = login_helps


class OAuthAppRefused(SignInExpired):
    """The sign-in service refused the app itself (invalid_client, unauthorized_client, an
    answer that is no OAuth2 error at all): oauth2.client_id, the client secret or the app
    registration is wrong, and signing in again cannot help; `remedy` says where to look."""

    def __init__(self, message: str, remedy: str) -> None:
        super().__init__(message)
        self.remedy = remedy


class TokenRefused(SignInRefused):
    """The server refused even a freshly renewed OAuth2 access token (XOAUTH2): the account
    signed in is not the mailbox's, or the server does not allow the protocol for it."""


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
