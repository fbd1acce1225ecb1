"""Shared fixtures: real Dovecot and SMTP servers, fresh for every test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mailfactory import STAFF_PASSWORD, STAFF_USER, SUPPORT_PASSWORD, SUPPORT_USER

from responder.devservers import Dovecot, RecordingSMTPServer


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
