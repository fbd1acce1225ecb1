"""Survey tokens: what a genuine link carries, and what a forged, altered or stale one gets."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from responder.core.csat.tokens import (
    TokenError,
    TokenExpired,
    TokenInvalid,
    new_secret,
    sign,
    verify,
)

SECRET = b"k" * 32
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=14)


def test_a_token_names_its_survey_until_it_expires() -> None:
    token = sign(SECRET, 4321, LATER)
    assert verify(SECRET, token, NOW) == 4321
    assert verify(SECRET, token, LATER - timedelta(seconds=1)) == 4321
    assert verify(SECRET, sign(SECRET, 2**63 + 5, LATER), NOW) == 2**63 + 5


def test_an_expired_token_is_refused_as_expired() -> None:
    token = sign(SECRET, 7, LATER)
    with pytest.raises(TokenExpired):
        verify(SECRET, token, LATER)
    with pytest.raises(TokenExpired):
        verify(SECRET, token, LATER + timedelta(days=300))


def test_tokens_are_short_and_url_safe() -> None:
    tokens = [sign(new_secret(), n, LATER) for n in (0, 1, 99, 10**12, 2**64 - 1)]
    for token in tokens:
        assert re.fullmatch(r"[A-Za-z0-9_-]+", token)
        assert quote(token, safe="") == token
        assert len(token) < 60


def test_every_altered_character_is_refused() -> None:
    token = sign(SECRET, 12, LATER)
    for i, char in enumerate(token):
        flipped = token[:i] + ("A" if char != "A" else "B") + token[i + 1 :]
        with pytest.raises(TokenInvalid):
            verify(SECRET, flipped, NOW)


def test_another_secret_or_survey_id_is_forgery() -> None:
    token = sign(SECRET, 12, LATER)
    with pytest.raises(TokenInvalid):
        verify(b"another secret, just as long....", token, NOW)
    # The MAC of survey 12 spliced onto survey 13: the id is covered by the signature.
    ours = sign(SECRET, 13, LATER)
    with pytest.raises(TokenInvalid):
        verify(SECRET, ours[:12] + token[12:], NOW)
    # A forged token with an expiry far off is refused as forged, not as anything else.
    with pytest.raises(TokenInvalid):
        verify(SECRET, sign(b"attacker's own secret", 12, LATER), NOW)


@pytest.mark.parametrize(
    "garbage",
    ["", "x", "not a token", "====", "ab+/cd", "A" * 39, "A" * 500, "é" * 39, "\x00" * 39],
)
def test_garbage_is_invalid(garbage: str) -> None:
    with pytest.raises(TokenInvalid):
        verify(SECRET, garbage, NOW)


def test_both_failures_share_one_base_and_secrets_are_random() -> None:
    assert issubclass(TokenExpired, TokenError) and issubclass(TokenInvalid, TokenError)
    assert len(new_secret()) == 32 and new_secret() != new_secret()
    with pytest.raises(ValueError):
        sign(b"", 1, LATER)
