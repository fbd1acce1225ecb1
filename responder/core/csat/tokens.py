"""Signed, expiring survey tokens for links in URLs: HMAC-SHA256, base64url, stdlib only."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets
import struct
from datetime import UTC, datetime

VERSION = 1
_LAYOUT = struct.Struct(">BQI")  # version, survey id, expiry (epoch seconds, good to 2106)
MAC_BYTES = 16  # HMAC-SHA256 cut to 128 bits (RFC 2104 allows it): keeps links short
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,80}", re.ASCII)


class TokenError(Exception):
    """A survey token that cannot be accepted."""


class TokenInvalid(TokenError):
    """Malformed, or not signed with our secret (forged or altered)."""


class TokenExpired(TokenError):
    """Genuine, but past its expiry."""


def new_secret() -> bytes:
    """32 random bytes, for when the config names no secret."""
    return secrets.token_bytes(32)


def _epoch(when: datetime) -> int:
    # A naive datetime is taken as UTC, as the database's are, never as local time.
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return int(when.timestamp())


def _mac(secret: bytes, survey_id: int, expires: int) -> bytes:
    if not secret:
        raise ValueError("an empty secret signs nothing")
    # The signed text names its version, so a future format can never be mistaken for this.
    payload = f"s{VERSION}:{survey_id}:{expires}".encode()
    return hmac.new(secret, payload, hashlib.sha256).digest()[:MAC_BYTES]


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def sign(secret: bytes, survey_id: int, expires: datetime) -> str:
    """A token naming `survey_id`, good until `expires`; 39 URL-safe characters."""
    epoch = _epoch(expires)
    if not 0 <= survey_id < 2**64 or not 0 <= epoch < 2**32:
        raise ValueError(f"survey id {survey_id} or expiry {expires} out of range")
    return _encode(_LAYOUT.pack(VERSION, survey_id, epoch) + _mac(secret, survey_id, epoch))


def verify(secret: bytes, token: str, now: datetime) -> int:
    """The survey id `token` names; raises TokenInvalid or TokenExpired."""
    if not _TOKEN.fullmatch(token):
        raise TokenInvalid("not a survey token")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError) as exc:
        raise TokenInvalid("not a survey token") from exc
    # Only the one canonical spelling: otherwise the spare bits of the last character would
    # let several strings stand for the same token.
    if len(raw) != _LAYOUT.size + MAC_BYTES or _encode(raw) != token:
        raise TokenInvalid("not a survey token")
    version, survey_id, epoch = _LAYOUT.unpack(raw[: _LAYOUT.size])
    if version != VERSION:
        raise TokenInvalid(f"unknown token version {version}")
    if not hmac.compare_digest(raw[_LAYOUT.size :], _mac(secret, survey_id, epoch)):
        raise TokenInvalid("bad signature")
    # Checked only once the signature holds: an expiry read from a forged token means nothing.
    if _epoch(now) >= epoch:
        raise TokenExpired(f"survey {survey_id} link expired")
    return int(survey_id)
