"""A logging filter that blanks known secrets in records, whoever logs them."""

from __future__ import annotations

import logging

MASK = "[redacted]"


class SecretFilter(logging.Filter):
    """httpx logs every request URL at INFO, and the Bot API puts the bot token in the URL;
    this keeps such lines, without the secret."""

    def __init__(self, *secrets: str) -> None:
        super().__init__()
        self._secrets = tuple(s for s in secrets if s)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self._secrets):
            for secret in self._secrets:
                message = message.replace(secret, MASK)
            record.msg, record.args = message, None
        return True
