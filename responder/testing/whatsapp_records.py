"""What the Graph API stand-in records, and Graph's error objects with the HTTP status Meta uses."""

from __future__ import annotations

import base64
import itertools
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]

# code -> (HTTP status, message, error_data.details); the message carries the title as Graph
# writes it ("(#code) title"). Statuses from the "HTTP Status Code" column of Meta's Cloud API
# error-code table (throttling 429, integrity 403, 131000 500, 131016 and 2 503, the rest 400);
# codes and titles as pywa/errors.py names them. Meta advises clients to key on `code`.
ERRORS: dict[int, tuple[int, str, str]] = {
    1: (400, "(#1) An unknown error occurred", "Invalid request or possible server error."),
    2: (503, "(#2) Service temporarily unavailable", "Temporary due to downtime or overload."),
    4: (429, "(#4) Application request limit reached", "The app reached its API call limit."),
    368: (403, "(#368) Temporarily blocked for policies violations", "Account restricted."),
    80007: (429, "(#80007) Rate limit issues", "The WhatsApp Business Account hit its limit."),
    131048: (
        429,
        "(#131048) Spam rate limit hit",
        "Message failed to send because there are restrictions on how many messages can be "
        "sent from this phone number.",
    ),
    100: (400, "(#100) Invalid parameter", "The request included an invalid parameter."),
    131008: (400, "(#131008) Required parameter is missing", "A required parameter is missing."),
    131009: (400, "(#131009) Parameter value is not valid", "A parameter value is not valid."),
    130429: (
        429,
        "(#130429) Rate limit hit",
        "Message failed to send because there were too many messages sent from this phone "
        "number in a short period of time",
    ),
    131056: (
        429,
        "(#131056) (Business Account, Consumer Account) pair rate limit hit",
        "Message failed to send because there were too many messages sent from this phone "
        "number to the same phone number in a short period of time",
    ),
    131047: (
        400,
        "(#131047) Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer "
        "last replied to this number.",
    ),
    131051: (400, "(#131051) Unsupported message type", "Message type is not currently supported."),
    132000: (
        400,
        "(#132000) Number of parameters does not match the expected number of params",
        "body: number of localizable_params does not match the expected number of params",
    ),
    132001: (
        404,
        "(#132001) Template name does not exist in the translation",
        "template name does not exist in the translation",
    ),
    131026: (400, "(#131026) Message Undeliverable", "Unable to deliver message."),
    131000: (
        500,
        "(#131000) Something went wrong",
        "Message failed to send due to an unknown error.",
    ),
    131016: (
        503,
        "(#131016) Service unavailable",
        "A service is temporarily unavailable. Please try again later.",
    ),
}
# Not Graph codes: fail_next(500) and fail_next(503) are the server errors Meta reports as these.
SERVER_ALIASES = {500: 131000, 503: 131016}
EXPIRED_TOKEN = (
    "Error validating access token: Session has expired on Tuesday, 01-Dec-26 12:00:00 PST. "
    "The current time is Thursday, 03-Dec-26 06:00:00 PST."
)
INVALID_TOKEN = "Invalid OAuth access token - Cannot parse access token"


@dataclass(frozen=True)
class SentWhatsApp:
    """One message accepted by POST /{phone_number_id}/messages."""

    phone_number_id: str
    to: str
    type: str
    payload: JSON
    wamid: str
    at: float = field(default_factory=time.monotonic)


@dataclass(frozen=True)
class GraphCall:
    """Every request that reached the stand-in, failed ones included (for pacing checks)."""

    method: str
    path: str
    status: int
    at: float


@dataclass(frozen=True)
class StoredMedia:
    """Media the stand-in can hand out: added by a test or uploaded by the code under test."""

    media_id: str
    data: bytes
    mime_type: str
    sha256: str
    filename: str | None


class GraphError(Exception):
    """An error answer: Graph's error object and the HTTP status it comes with."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        details: str | None = None,
        type_: str = "OAuthException",
        subcode: int | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.type = type_
        self.subcode = subcode
        self.retry_after = retry_after

    def body(self) -> JSON:
        error: JSON = {"message": self.message, "type": self.type, "code": self.code}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.details is not None:  # WhatsApp's own codes; Graph-level ones (190) have none
            error["error_data"] = {"messaging_product": "whatsapp", "details": self.details}
        error["fbtrace_id"] = secrets.token_urlsafe(16)
        return {"error": error}


def known_error(
    code: int, *, http_status: int | None = None, retry_after: int | None = None
) -> GraphError:
    """The error Graph answers for `code` (a WhatsApp code, 190, or 500/503 for server errors)."""
    code = SERVER_ALIASES.get(code, code)
    if code == 190:
        return GraphError(
            http_status or 401, 190, EXPIRED_TOKEN, subcode=463, retry_after=retry_after
        )
    status, message, details = ERRORS.get(code, (400, f"(#{code}) Error", f"Error {code}."))
    status = http_status or status
    return GraphError(status, code, message, details=details, retry_after=retry_after)


def invalid_parameter(details: str, code: int = 100) -> GraphError:
    """A refused payload: Graph's 400 with the parameter named in `details`."""
    message = ERRORS[code][1] if code in ERRORS else f"(#{code}) Invalid parameter"
    return GraphError(400, code, message, details=details)


def no_such_object(object_id: str, method: str) -> GraphError:
    """What Graph answers for an id it does not know (a wrong phone number or media id)."""
    return GraphError(
        400,
        100,
        f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be "
        "loaded due to missing permissions, or does not support this operation.",
        type_="GraphMethodException",
        subcode=33,
    )


_serial = itertools.count(1)


def new_wamid(to_digits: str) -> str:
    """A unique id shaped like Meta's: "wamid." then base64 of opaque bytes."""
    raw = f"{to_digits}:{next(_serial)}:{secrets.token_hex(8)}".encode()
    return "wamid." + base64.b64encode(raw).decode().rstrip("=")
