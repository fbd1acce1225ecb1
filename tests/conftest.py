"""Shared fixtures: real Dovecot and SMTP servers, fresh for every test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import testdb
from harness import STAFF_GROUP, TELEGRAM_TOKEN, TG_STAFF, WA_NUMBER_ID, WA_TOKEN
from mailfactory import STAFF_PASSWORD, STAFF_USER, SUPPORT_PASSWORD, SUPPORT_USER

from responder.config.loader import Config
from responder.testing import Dovecot, GraphStandIn, RecordingSMTPServer, TelegramStandIn


@pytest.fixture(scope="session", autouse=True)
def postgres_server() -> Iterator[None]:
    """With RESPONDER_TEST_DB=postgresql: the throwaway server every test's database is on,
    and a config without database_url gets a database of its own there for its state_dir,
    where the daemon would make state_dir/responder.db: every test runs unchanged."""
    if not testdb.ON_POSTGRESQL:
        yield
        return
    server = testdb.start()
    given = Config.database_url_resolved

    def resolved(self: Config) -> str:
        if self.database_url is None:
            return testdb.url(self.state_dir / "responder.db")
        return str(given.__get__(self))

    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(Config, "database_url_resolved", property(resolved))
            yield
    finally:
        server.stop()


@pytest.fixture(scope="module", autouse=True)
def test_databases() -> Iterator[None]:
    """The module's databases are dropped after it (its module-scoped fixtures' too)."""
    yield
    if testdb.ON_POSTGRESQL:
        testdb.drop_all()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Each marker names its reason: a marked test without one is a mistake.
    for item in items:
        for name in ("sqlite_only", "postgresql_only"):
            marker = item.get_closest_marker(name)
            if marker is not None and not (marker.args or marker.kwargs.get("reason")):
                raise pytest.UsageError(f"{item.nodeid}: {name} needs a reason")
    if not testdb.ON_POSTGRESQL:
        # Deselected, as the PostgreSQL leg deselects sqlite_only: run on the other leg.
        off = [item for item in items if item.get_closest_marker("postgresql_only")]
        if off:
            config.hook.pytest_deselected(items=off)
            items[:] = [item for item in items if item not in off]


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
