"""A logging filter that blanks known secrets in records, whoever logs them."""

from __future__ import annotations

import logging
import re
from typing import Any

MASK = "[redacted]"

# Credentials that need no registration: an HTTP Authorization header's value (RFC 9110
# 11.6.2) and the base64 blob of SMTP AUTH PLAIN (RFC 4954) carry a password in the clear.
_CREDENTIALS = (
    r"(?P<keep>(?i:authorization:[ \t]*(?:(?:basic|bearer|digest|token)[ \t]+)?"
    r"|auth[ \t]+plain[ \t]+))[^\s,;'\"]+"
)


class SecretFilter(logging.Filter):
    """The Bot API puts the bot token in every request URL, and a library may log one; this
    keeps such lines, without the secret.

    Installed on the root handler it is the second line of defence: every secret of the
    config is registered, so a line that quotes one by mistake still leaks nothing. The
    message, the traceback and the stack are all rewritten.
    """

    def __init__(self, *secrets: str) -> None:
        super().__init__()
        self._secrets: frozenset[str] = frozenset()
        self._pattern = re.compile(_CREDENTIALS)
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        """Blank these values too, from now on."""
        # A value quoted with %r shows escapes (a backslash doubled): blank that form too.
        self._secrets = self._secrets | {v for s in secrets if s for v in (s, repr(s)[1:-1])}
        # Longest first, so a secret that contains another is blanked whole.
        known = sorted(self._secrets, key=len, reverse=True)
        self._pattern = re.compile("|".join([*map(re.escape, known), _CREDENTIALS]))

    def redact(self, text: str) -> str:
        return self._pattern.sub(lambda m: (m.group("keep") or "") + MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = self.redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            # Formatters use exc_text when it is set: render the traceback once, clean.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def config_secrets(model: Any) -> list[str]:
    """Every SecretStr value in a loaded config (passwords, tokens, the HTTP secret)."""
    from pydantic import BaseModel, SecretStr

    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name))
        elif isinstance(value, tuple | list | frozenset | set):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)

    walk(model)
    return found
