"""Stand-ins for real servers (Dovecot, SMTP, the Bot API, OAuth2) for tests, benchmark and the
demo: real local servers, not mocks."""

from __future__ import annotations

from responder.testing._net import free_port
from responder.testing.dovecot import Dovecot
from responder.testing.mailbox import DovecotError
from responder.testing.smtp import Received, RecordingSMTPServer
from responder.testing.telegram import SentMessage, TelegramStandIn

__all__ = [
    "Dovecot",
    "DovecotError",
    "Received",
    "RecordingSMTPServer",
    "SentMessage",
    "TelegramStandIn",
    "free_port",
]
