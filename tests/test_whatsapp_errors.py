"""Graph API failures sorted the way the outbox acts on them, and Meta's signature check."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import pytest

from responder.channels.whatsapp.graph import GraphError, Paced, WindowClosed, classify
from responder.channels.whatsapp.webhook import signature_ok
from responder.errors import ChannelDown, PermanentError, SignInRefused, TransientError


def error(code: int, details: str = "", **more: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"message": f"error {code}", "type": "OAuthException", "code": code}
    if details:
        body["error_data"] = {"messaging_product": "whatsapp", "details": details}
    return {"error": {**body, **more, "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam"}}


@pytest.mark.parametrize(
    ("status", "doc", "kind", "retry_after"),
    [
        # The token expired or was revoked: only the admin can fix it, the channel says so.
        (401, error(190, "Error validating access token"), SignInRefused, None),
        (401, None, SignInRefused, None),
        # Throughput and per-customer pacing: the same message goes later.
        (400, error(130429, "Rate limit hit"), Paced, 5.0),
        (400, error(131056, "pair rate limit"), Paced, 60.0),
        (400, error(80007), Paced, None),
        (429, None, Paced, None),
        # Meta's own trouble: the outbox waits for the channel and probes it.
        (500, error(131000, "Something went wrong"), ChannelDown, None),
        (503, error(131016), ChannelDown, None),
        (502, None, ChannelDown, None),
    ],
)
def test_failures_that_pass_are_retried_by_their_class(
    status: int, doc: Any, kind: type[Exception], retry_after: float | None
) -> None:
    exc = classify(status, doc)
    assert type(exc) is kind
    assert isinstance(exc, TransientError) and exc.retry_after == retry_after


@pytest.mark.parametrize(
    ("doc", "kind", "code"),
    [
        (
            error(131047, "Message failed to send because more than 24 hours have passed"),
            WindowClosed,
            131047,
        ),
        (error(131051, "Unsupported message type"), GraphError, 131051),
        (error(100, "Invalid parameter"), GraphError, 100),
    ],
)
def test_refusals_for_good_are_permanent_with_metas_code_and_words(
    doc: Any, kind: type[GraphError], code: int
) -> None:
    exc = classify(400, doc)
    assert type(exc) is kind and isinstance(exc, PermanentError)
    assert isinstance(exc, GraphError) and exc.code == code
    assert str(code) in str(exc) and doc["error"]["error_data"]["details"] in str(exc)


SECRET = b"0123456789abcdef0123456789abcdef"


def signed(body: bytes, secret: bytes = SECRET) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


@pytest.mark.parametrize(
    ("header", "ok"),
    [
        (signed(b'{"object":"whatsapp_business_account"}'), True),
        (
            signed(b'{"object":"whatsapp_business_account"}').upper().replace("SHA256=", "sha256="),
            True,
        ),
        (signed(b'{"object":"whatsapp_business_account"} '), False),  # one byte more
        (signed(b'{"object":"whatsapp_business_account"}', b"another-secret"), False),
        (signed(b'{"object":"whatsapp_business_account"}').replace("sha256=", "sha1="), False),
        ("", False),
        (None, False),
        ("sha256=ünïcode", False),
    ],
)
def test_only_a_body_signed_with_the_app_secret_passes(header: str | None, ok: bool) -> None:
    assert signature_ok(b'{"object":"whatsapp_business_account"}', header, SECRET) is ok
