"""What went wrong reaching a channel's server, and what the admin can do about it, in words a
shop owner understands: one vocabulary for the daemon's log, `status`, /healthz and
`responder check --connect`."""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from responder.errors import (
    ChannelError,
    NotSignedIn,
    OAuthAppRefused,
    SignInExpired,
    SignInRefused,
    SignInUnreadable,
    TokenRefused,
)

Service = Literal["imap", "smtp", "telegram", "whatsapp", "http"]

# What to do when a provider refuses the password; the README has a section for each.
_SIGN_IN_HELP = {
    "gmail": "Gmail needs an app password (Google Account > Security > 2-Step Verification > "
    "App passwords), not the account's password; see README#gmail",
    "google-workspace": "if app passwords are off in your Workspace, use oauth2; see "
    "README#google-workspace",
    "microsoft365": "Microsoft 365 takes OAuth2 only (auth: oauth2, then `responder login`); "
    "see README#microsoft-365",
    "cpanel": "use the mailbox's full address and the password set in cPanel > Email "
    "Accounts; see README#cpanel-hosting",
}


@dataclass(frozen=True)
class Endpoint:
    """What was being reached, and where in the config it is set."""

    channel: str
    service: Service
    host: str
    port: int
    account: str = ""  # the user name signed in as, if any
    key: str = ""  # the config section, relative to the channel: "imap", "smtp", ""
    provider: str = "generic"  # the channel's preset (config `provider`)
    config_file: str = "/etc/responder/config.yaml"
    secret: str = ""  # the key the password is given by, relative to the channel

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class Diagnosis:
    """One failure: what happened (naming host and account), the key to look at, the remedy,
    and whether only the admin can fix it (retrying alone will not)."""

    problem: str
    remedy: str
    key: str
    permanent: bool

    def __str__(self) -> str:
        return f"{self.problem}: {self.remedy}" if self.remedy else self.problem


class Diagnosed(ChannelError):
    """A failure read where it was found (a missing folder, a staff group the bot is not in,
    a port in use): diagnose() hands its diagnosis on as it is."""

    def __init__(self, diagnosis: Diagnosis) -> None:
        super().__init__(str(diagnosis))
        self.diagnosis = diagnosis


def diagnose(exc: BaseException, at: Endpoint) -> Diagnosis:
    """The admin's reading of `exc`, raised while reaching `at`."""
    if isinstance(exc, Diagnosed):
        return exc.diagnosis
    section = f"{at.key}." if at.key else ""
    # A bot reaches the Bot API, a WhatsApp number the Graph API, through one key: api_url.
    api = at.service in ("telegram", "whatsapp")
    host_key = "api_url" if api else f"{section}host"
    port_key = "api_url" if api else f"{section}port"
    cause = _root(exc)
    if isinstance(exc, SignInExpired):
        return oauth_unusable(exc, at)
    if isinstance(exc, TokenRefused):
        return oauth_refused(at, str(exc).rpartition(": ")[2]).diagnosis
    if isinstance(exc, SignInRefused) and at.service == "whatsapp":
        # Graph API error 190: a temporary token from the app dashboard lives 24 hours.
        remedy = (
            "check access_token_file: a System User's permanent token from Meta Business "
            "Settings, with whatsapp_business_messaging permission"
        )
        return Diagnosis(
            f"the access token was refused by {at.host}", remedy, "access_token_file", True
        )
    if isinstance(exc, SignInRefused):
        what = "token" if at.service == "telegram" else "password"
        if at.service == "telegram":
            remedy = "check token_file: copy the token BotFather gave (or /revoke for a new one)"
            key = "token_file"
        else:
            key = at.secret or f"{section}password_file"
            remedy = _SIGN_IN_HELP.get(at.provider, f"check {key} and {section}username")
        who = f" for {at.account}" if at.account else ""
        return Diagnosis(f"the {what}{who} was refused by {at.host}", remedy, key, True)
    if isinstance(cause, socket.gaierror) and not name_unknown(cause):
        return Diagnosis(
            f"the {at.service.upper()} server name {at.host} could not be looked up: the DNS "
            "resolver did not answer",
            "check this machine's DNS (/etc/resolv.conf); responder keeps trying",
            "",
            False,
        )
    if isinstance(cause, socket.gaierror):
        return Diagnosis(
            f"the {at.service.upper()} server name {at.host} cannot be found (DNS)",
            f"check {host_key} for typos; `getent hosts {at.host}` must print an address",
            host_key,
            False,
        )
    if isinstance(cause, ssl.SSLCertVerificationError):
        return Diagnosis(
            f"the TLS certificate of {at.server} was refused ({cause.verify_message})",
            f"use the host name the certificate is for in {section}host (your provider's "
            "mail server name, not your domain), or renew the server's certificate",
            f"{section}host",
            True,
        )
    if isinstance(cause, ssl.SSLError) and cause.reason in _NOT_TLS:
        return Diagnosis(
            f"{at.server} does not speak TLS the way {section}security says",
            f"check {section}security and {section}port (IMAP: tls on 993; SMTP: tls on 465, "
            "starttls on 587)",
            f"{section}security",
            True,
        )
    if isinstance(cause, ssl.SSLError):  # cut off mid-handshake (EOF, reset): it passes
        return Diagnosis(
            f"the TLS connection to {at.server} was cut off ({cause.reason or cause})",
            "",
            "",
            False,
        )
    if isinstance(cause, ConnectionRefusedError):
        return Diagnosis(
            f"nothing answers on {at.server} (connection refused)",
            f"check {port_key}, and that the server runs",
            port_key,
            False,
        )
    if isinstance(cause, TimeoutError):
        return Diagnosis(
            f"{at.server} did not answer in time",
            f"check {host_key} and {port_key}, and that a firewall lets the VPS reach it",
            port_key,
            False,
        )
    if isinstance(cause, OSError) and cause.strerror:
        return Diagnosis(f"cannot reach {at.server}: {cause.strerror.lower()}", "", "", False)
    text = str(exc) or type(exc).__name__
    known = isinstance(exc, ChannelError)
    return Diagnosis(
        f"{at.service.upper()} server {at.server}: {text}" if known else text,
        "",
        "",
        False,
    )


def folder_missing(
    at: Endpoint, folder: str, key: str, *, marked_sent: str | None, similar: Sequence[str]
) -> Diagnosed:
    """A watched folder (imap.folder, sent_folder, done_folder) the mailbox does not have;
    `marked_sent` is the folder the server marks as Sent (RFC 6154), `similar` the existing
    names that look like the one configured."""
    problem = f'there is no folder "{folder}" in {at.account or at.channel} on {at.host}'
    if marked_sent is not None:
        remedy = f'the server marks "{marked_sent}" as the Sent folder: set {key}: "{marked_sent}"'
        if key.endswith("sent_folder"):
            remedy += " (or auto, which finds it)"
    elif similar:
        names = " or ".join(f'"{name}"' for name in similar)
        remedy = f"set {key} to the folder's exact name: {names}"
    else:
        remedy = f"create the folder in your mail program, or set {key} to a folder that exists"
    return Diagnosed(Diagnosis(problem, remedy, key, True))


def oauth_refused(at: Endpoint, detail: str) -> Diagnosed:
    """The mail server refused a valid-looking OAuth2 access token (XOAUTH2)."""
    who = at.account or at.channel
    remedy = f"run `responder login -c {at.config_file} {at.channel}` again, signing in as {who}"
    if at.provider == "microsoft365":
        app = "IMAP" if at.service == "imap" else "Authenticated SMTP"
        remedy += (
            f"; Microsoft 365 also needs {app} turned on for the mailbox (Microsoft 365 admin "
            "center > Users > Mail > Manage email apps)"
        )
    problem = f"{at.host} refused the OAuth2 sign-in for {who} ({detail})"
    return Diagnosed(Diagnosis(problem, remedy, "oauth2", True))


def oauth_unusable(exc: SignInExpired, at: Endpoint) -> Diagnosis:
    """The OAuth2 sign-in saved for the mailbox cannot be used: what to do depends on why
    (the texts of NotSignedIn, SignInUnreadable and OAuthAppRefused name channel and file)."""
    login = f"responder login -c {at.config_file} {at.channel}"
    if isinstance(exc, NotSignedIn):
        return Diagnosis(str(exc), f"run `{login}` (it has not been signed in yet)", "oauth2", True)
    if isinstance(exc, SignInUnreadable):
        again = f", or run `sudo {login}` again" if exc.login_helps else ""
        return Diagnosis(str(exc), exc.remedy + again, "oauth2", True)
    if isinstance(exc, OAuthAppRefused):
        return Diagnosis(str(exc), exc.remedy, "oauth2.client_id", True)
    return Diagnosis(
        f"the sign-in for {at.account or at.channel} has expired or was revoked ({exc})",
        f"run `{login}` again",
        "oauth2",
        True,
    )


StaffGroupTrouble = Literal["unknown", "not_a_group", "not_member", "removed", "cannot_post"]


def staff_group_problem(
    at: Endpoint, chat_id: int, trouble: StaffGroupTrouble, bot: str, title: str = ""
) -> Diagnosed:
    """What keeps a bot from posting in its staff group (Bot API getChat, getChatMember)."""
    group = f'the staff group "{title}" ({chat_id})' if title else f"the staff group {chat_id}"
    add = f"add @{bot} to the group (group info > Add members)"
    problem, remedy = {
        "unknown": (
            f"Telegram does not know {group}, or @{bot} is not in it",
            f"{add}, then check staff_chat_id: the group's id, a negative number",
        ),
        "not_a_group": (
            f"staff_chat_id {chat_id} is a private chat, not a group",
            f"make a Telegram group for your staff, add @{bot} to it, and put the group's id "
            "(a negative number) in staff_chat_id",
        ),
        "not_member": (f"@{bot} is not a member of {group}", add),
        "removed": (
            f"@{bot} was removed from {group}",
            "take the bot off the group's Removed users list, then add it again",
        ),
        "cannot_post": (
            f"@{bot} may not send messages in {group}",
            "make the bot an administrator of the group, or let members send messages "
            "(group info > Permissions)",
        ),
    }[trouble]
    return Diagnosed(Diagnosis(problem, remedy, "staff_chat_id", True))


def cannot_listen(at: Endpoint, exc: OSError) -> Diagnosed:
    """The HTTP endpoint's address cannot be listened on."""
    if exc.errno == errno.EADDRINUSE:
        problem = f"another program already listens on {at.server}"
        remedy = "stop that program (another responder?), or set http.port to a free port"
        return Diagnosed(Diagnosis(problem, remedy, "http.port", True))
    problem = f"cannot listen on {at.server}: {(exc.strerror or str(exc)).lower()}"
    remedy = "check http.host (an address of this machine) and http.port (below 1024 needs root)"
    return Diagnosed(Diagnosis(problem, remedy, "http.port", True))


# OpenSSL's reasons when the other end does not speak TLS at all (a plain-text port, or
# STARTTLS expected): the admin's security or port setting, not a passing fault.
_NOT_TLS = frozenset(
    {"WRONG_VERSION_NUMBER", "UNKNOWN_PROTOCOL", "RECORD_LAYER_FAILURE", "HTTP_REQUEST"}
)
# getaddrinfo(3): the name does not exist. EAI_AGAIN (the resolver did not answer) passes.
_NO_SUCH_NAME = frozenset(
    code
    for code in (getattr(socket, "EAI_NONAME", None), getattr(socket, "EAI_NODATA", None))
    if code is not None
)


def name_unknown(exc: socket.gaierror) -> bool:
    """Whether DNS said the name does not exist (a typo), not that it could not answer."""
    return exc.errno in _NO_SUCH_NAME


def os_cause(exc: BaseException) -> BaseException | None:
    """The OS or TLS error underneath library wrappers (aiosmtplib, aiohttp chain theirs): the
    deepest, as a wrapper may itself be one (aiosmtplib's SMTPConnectError is a
    ConnectionError without errno, raised from the gaierror that says what happened)."""
    seen: set[int] = set()
    found: BaseException | None = None
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError | TimeoutError):
            found = current
        current = current.__cause__ or current.__context__
    return found


def _root(exc: BaseException) -> BaseException:
    return os_cause(exc) or exc
