"""Stand-ins for real servers (Dovecot, SMTP, the Bot API, Graph, OAuth2) for tests, benchmark
and the demo: real local servers, not mocks."""

from __future__ import annotations

from responder.testing._net import free_port
from responder.testing.dovecot import Dovecot
from responder.testing.mailbox import DovecotError
from responder.testing.smtp import Received, RecordingSMTPServer
from responder.testing.telegram import SentMessage, TelegramStandIn
from responder.testing.whatsapp import GraphError, GraphStandIn, SentWhatsApp
from responder.testing.whatsapp_webhooks import Webhooks, post_webhook, sign

__all__ = [
    "Dovecot",
    "DovecotError",
    "GraphError",
    "GraphStandIn",
    "Received",
    "RecordingSMTPServer",
    "SentMessage",
    "SentWhatsApp",
    "TelegramStandIn",
    "Webhooks",
    "free_port",
    "post_webhook",
    "sign",
]
