"""Real local IMAP (Dovecot) and SMTP servers for the tests, the benchmark and the demo."""

from __future__ import annotations

from responder.devservers._net import free_port
from responder.devservers.dovecot import Dovecot
from responder.devservers.mailbox import DovecotError
from responder.devservers.smtp import Received, RecordingSMTPServer

__all__ = ["Dovecot", "DovecotError", "Received", "RecordingSMTPServer", "free_port"]
