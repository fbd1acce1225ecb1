"""One request to an OAuth2 endpoint (RFC 6749 sections 4-6, RFC 8628): a form POSTed, JSON back.

Blocking, on the standard library: the daemon calls it in a worker thread (a refresh is a
few a day), `responder login` directly. urllib costs ~3 MB where an HTTP client library
costs 5-15 MB in every daemon with an OAuth2 channel.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from responder import __version__

TIMEOUT = 20.0


class Unreachable(Exception):
    """The endpoint could not be reached or had trouble of its own (5xx, 429): try later."""


class TokenRefused(Exception):
    """The endpoint answered with an OAuth2 error (RFC 6749 section 5.2, RFC 8628 3.5)."""

    def __init__(self, error: str, description: str = "", status: int = 400) -> None:
        self.error = error
        self.description = description
        self.status = status
        super().__init__(f"{error}: {description}" if description else error)


def host_of(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc


def post_form(url: str, form: dict[str, str], timeout: float = TIMEOUT) -> dict[str, Any]:
    """The JSON object of a 2xx answer; TokenRefused for an OAuth2 error, else Unreachable.
    Exceptions carry the status and the server's error text, never the form's values."""
    request = urllib.request.Request(
        url,
        data=urllib.parse.urlencode(form).encode("ascii"),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
            "User-Agent": f"responder/{__version__}",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return _json(response.read(), response.status, url)
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read()
        exc.close()
    except urllib.error.URLError as exc:
        reason = exc.reason
        raise Unreachable(f"{host_of(url)}: {_reason(reason)}") from (
            reason if isinstance(reason, BaseException) else exc
        )
    except (OSError, TimeoutError) as exc:
        raise Unreachable(f"{host_of(url)}: {_reason(exc)}") from exc
    if status >= 500 or status == 429:
        raise Unreachable(f"{host_of(url)} answered HTTP {status}")
    try:
        answer = _json(body, status, url)
    except Unreachable:
        raise TokenRefused(f"HTTP {status}", status=status) from None
    error = answer.get("error")
    if not isinstance(error, str):
        raise TokenRefused(f"HTTP {status}", status=status)
    description = answer.get("error_description")
    text = description.strip().splitlines()[0][:300] if isinstance(description, str) else ""
    raise TokenRefused(error, text, status)


def _json(body: bytes, status: int, url: str) -> dict[str, Any]:
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if not isinstance(answer, dict):
        raise Unreachable(f"{host_of(url)} answered HTTP {status} without a JSON object")
    return answer


def _reason(reason: object) -> str:
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    return str(reason) or type(reason).__name__
