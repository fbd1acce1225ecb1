"""Shared fixtures: real Dovecot and SMTP servers, fresh for every test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import STAFF_GROUP, TELEGRAM_TOKEN, TG_STAFF, WA_NUMBER_ID, WA_TOKEN
from mailfactory import STAFF_PASSWORD, STAFF_USER, SUPPORT_PASSWORD, SUPPORT_USER

from responder.testing import Dovecot, GraphStandIn, RecordingSMTPServer, TelegramStandIn


@pytest.fixture
def dovecot(tmp_path: Path) -> Iterator[Dovecot]:
    """A running Dovecot with the support and staff mailboxes, stopped after the test."""
    server = Dovecot(
        tmp_path / "dovecot", {SUPPORT_USER: SUPPORT_PASSWORD, STAFF_USER: STAFF_PASSWORD}
    )
    with server:
        yield server


@pytest.fixture
def smtp_server() -> Iterator[RecordingSMTPServer]:
    """A running RecordingSMTPServer, stopped after the test."""
    with RecordingSMTPServer() as server:
        yield server


@pytest.fixture
def tg() -> Iterator[TelegramStandIn]:
    """The Bot API stand-in, with a staff group whose administrator is TG_STAFF."""
    with TelegramStandIn(token=TELEGRAM_TOKEN, staff={TG_STAFF: "administrator"}) as server:
        server.add_group(STAFF_GROUP, "Toko Contoh staff")
        yield server


@pytest.fixture
def graph() -> Iterator[GraphStandIn]:
    """The Graph API stand-in for one WhatsApp business number."""
    with GraphStandIn(token=WA_TOKEN, phone_number_id=WA_NUMBER_ID) as server:
        yield server
