"""A failure in the admin's words: what happened, the key to look at, what to do."""

from __future__ import annotations

import socket
import ssl

import pytest

from responder.channels.diagnose import Endpoint, diagnose
from responder.errors import SignInExpired, SignInRefused, TokenRefused, TransientError


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
    at = Endpoint("support", "imap", "mail.toko.id", 993, "cs@toko.id", "imap", provider)
    found = diagnose(exc, at)
    assert found.problem.startswith(problem), found.problem
    assert remedy in found.remedy, found.remedy
    assert (found.key, found.permanent) == (key, permanent)
