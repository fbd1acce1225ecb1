"""Real local IMAP (Dovecot), SMTP and Telegram Bot API servers for tests, benchmark and demo."""

from __future__ import annotations

from responder.devservers._net import free_port
from responder.devservers.dovecot import Dovecot
from responder.devservers.mailbox import DovecotError
from responder.devservers.smtp import Received, RecordingSMTPServer
from responder.devservers.telegram import SentMessage, TelegramStandIn

__all__ = [
    "Dovecot",
    "DovecotError",
    "Received",
    "RecordingSMTPServer",
    "SentMessage",
    "TelegramStandIn",
    "free_port",
]
