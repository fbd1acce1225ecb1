"""A failure in the admin's words: what happened, the key to look at, what to do."""

from __future__ import annotations

import dataclasses
import socket
import ssl

import pytest

from responder.channels import health
from responder.channels.diagnose import Endpoint, diagnose
from responder.channels.email.imap_connection import passing_refusal
from responder.errors import (
    PermanentError,
    SignInExpired,
    SignInRefused,
    TokenRefused,
    TransientError,
)


def _cert_refused() -> ssl.SSLCertVerificationError:
    exc = ssl.SSLCertVerificationError("certificate verify failed")
    exc.verify_message = "Hostname mismatch, certificate is not valid for 'mail.toko.id'"
    return exc


def _wrapped(cause: BaseException) -> Exception:
    # Libraries chain the OS error under their own (aiosmtplib's SMTPConnectError).
    try:
        raise cause
    except BaseException as inner:
        outer = TransientError("cannot reach the server")
        outer.__cause__ = inner
        return outer


@pytest.mark.parametrize(
    ("exc", "provider", "problem", "remedy", "key", "permanent"),
    [
        (
            SignInRefused("NO [AUTHENTICATIONFAILED]"),
            "gmail",
            "the password for cs@toko.id was refused by mail.toko.id",
            "Gmail needs an app password",
            "password_file",
            True,
        ),
        (
            SignInRefused("NO [AUTHENTICATIONFAILED]"),
            "generic",
            "the password for cs@toko.id was refused by mail.toko.id",
            "check imap.password_file and imap.username",
            "imap.password_file",
            True,
        ),
        (
            SignInExpired("invalid_grant"),
            "microsoft365",
            "the sign-in for cs@toko.id has expired or was revoked",
            "run `responder login -c /etc/responder/config.yaml support` again",
            "oauth2",
            True,
        ),
        (
            TokenRefused("mail.toko.id refused the OAuth2 sign-in for cs@toko.id: NO [AUTH]"),
            "microsoft365",
            "mail.toko.id refused the OAuth2 sign-in for cs@toko.id (NO [AUTH])",
            "Microsoft 365 also needs IMAP turned on for the mailbox",
            "oauth2",
            True,
        ),
        (
            _wrapped(socket.gaierror(socket.EAI_NONAME, "Name or service not known")),
            "generic",
            "the IMAP server name mail.toko.id cannot be found (DNS)",
            "check imap.host for typos",
            "imap.host",
            False,
        ),
        (
            _wrapped(_cert_refused()),
            "cpanel",
            "the TLS certificate of mail.toko.id:993 was refused (Hostname mismatch",
            "use the host name the certificate is for in imap.host",
            "imap.host",
            True,
        ),
        (
            ConnectionRefusedError(111, "Connection refused"),
            "generic",
            "nothing answers on mail.toko.id:993 (connection refused)",
            "check imap.port",
            "imap.port",
            False,
        ),
    ],
    ids=["gmail", "generic", "expired", "token", "dns", "certificate", "refused"],
)
def test_each_failure_says_what_happened_and_what_to_do(
    exc: BaseException, provider: str, problem: str, remedy: str, key: str, permanent: bool
) -> None:
    secret = "password_file" if provider != "generic" else ""  # a preset shares it
    at = Endpoint("support", "imap", "mail.toko.id", 993, "cs@toko.id", "imap", provider)
    at = dataclasses.replace(at, secret=secret)
    found = diagnose(exc, at)
    assert found.problem.startswith(problem), found.problem
    assert remedy in found.remedy, found.remedy
    assert (found.key, found.permanent) == (key, permanent)


def _ssl_error(kind: type[ssl.SSLError], reason: str) -> ssl.SSLError:
    exc = kind(1, f"[SSL: {reason}] {reason.lower().replace('_', ' ')}")
    exc.reason = reason
    return exc


@pytest.mark.parametrize(
    ("exc", "problem", "permanent"),
    [
        (
            socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution"),
            "the IMAP server name mail.toko.id could not be looked up: the DNS resolver",
            False,
        ),
        (
            _ssl_error(ssl.SSLEOFError, "UNEXPECTED_EOF_WHILE_READING"),
            "the TLS connection to mail.toko.id:993 was cut off",
            False,
        ),
        (
            _ssl_error(ssl.SSLError, "WRONG_VERSION_NUMBER"),
            "mail.toko.id:993 does not speak TLS the way imap.security says",
            True,
        ),
    ],
    ids=["resolver-down", "tls-cut-off", "not-tls"],
)
def test_a_network_blip_is_not_the_admins_to_fix(
    exc: BaseException, problem: str, permanent: bool
) -> None:
    at = Endpoint("support", "imap", "mail.toko.id", 993, "cs@toko.id", "imap")
    found = diagnose(_wrapped(exc), at)
    assert found.problem.startswith(problem), found.problem
    assert found.permanent is permanent


def test_a_resolver_that_does_not_answer_never_fails_the_channel(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(health, "UNKNOWN_HOST_GRACE", 0.0)  # minutes in the daemon
    at = Endpoint("support", "imap", "mail.toko.id", 993, "cs@toko.id", "imap")
    down = health.Condition(at)
    down.failed(_wrapped(socket.gaierror(socket.EAI_AGAIN, "Temporary failure")))
    assert down.state == "reconnecting"
    typo = health.Condition(at)
    typo.failed(_wrapped(socket.gaierror(socket.EAI_NONAME, "Name or service not known")))
    assert typo.state == "failed"


def test_a_refused_smtp_sign_in_is_not_hidden_by_a_missing_sent_folder() -> None:
    sent = health.Condition(Endpoint("support", "imap", "h", 993, key="imap"))
    sent.failed(PermanentError("the folder Sent does not exist"))
    smtp = health.Condition(Endpoint("support", "smtp", "h", 465, "cs@toko.id", "smtp"))
    smtp.failed(SignInRefused("535 5.7.8 authentication failed"))
    shown = health.worst([(sent, True), (smtp, False)])
    assert shown.state == "failed" and not shown.partial
    assert shown.problem is not None and "refused by h" in shown.problem.problem


@pytest.mark.parametrize(
    ("answer", "passing"),
    [
        ("[AUTHENTICATIONFAILED] Authentication failed.", False),
        ("LOGIN failed.", False),  # Microsoft 365: no code, still the password
        ("[UNAVAILABLE] Temporary authentication failure.", True),
        ("[LIMIT] Too many connections", True),
    ],
)
def test_only_a_refusal_that_says_so_is_passing(answer: str, passing: bool) -> None:
    assert passing_refusal(answer) is passing
