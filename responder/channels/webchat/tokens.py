"""Visitor tokens: `<visitor id>.<expiry, unix seconds>.<HMAC-SHA256 hex>`, kept by the
visitor's browser so a reload or a new tab finds its conversation (issue 17)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from responder.wire.webchat.record import VISITOR

SECRET_KEY = "webchat_secret"  # the meta table's key: one secret for every web chat channel


def new_visitor() -> str:
    """A visitor id nobody can guess (128 bits): it is also their conversation's key."""
    return secrets.token_urlsafe(16)


class Tokens:
    """Signs and checks one channel's tokens; a token of another channel, or of another
    database's secret, is not valid here."""

    def __init__(self, secret: bytes, channel: str) -> None:
        self._secret = secret
        self._channel = channel

    def issue(self, visitor: str, expires: datetime) -> str:
        body = f"{visitor}.{int(expires.timestamp())}"
        return f"{body}.{self._mac(body)}"

    def visitor(self, token: object, now: datetime) -> str | None:
        """The visitor a valid, unexpired token names; None for anything else."""
        if not isinstance(token, str) or len(token) > 200 or not token.isascii():
            return None
        visitor, _, rest = token.partition(".")
        expiry, _, mac = rest.partition(".")
        if not VISITOR.fullmatch(visitor) or not expiry.isdigit() or len(expiry) > 12:
            return None
        if not hmac.compare_digest(mac, self._mac(f"{visitor}.{expiry}")):
            return None
        if datetime.fromtimestamp(int(expiry), UTC) <= now:
            return None
        return visitor

    def _mac(self, body: str) -> str:
        signed = f"{self._channel}\n{body}".encode()
        return hmac.new(self._secret, signed, hashlib.sha256).hexdigest()
