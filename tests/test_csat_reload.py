"""Turning surveys off and on with a reload, in real time: off, a planned survey waits (and
nothing spins); on again, it goes."""

from __future__ import annotations

import asyncio
from pathlib import Path

from harness import db_rows, running, wait_until
from test_csat_e2e import answered_ticket, resolve, setup

from responder.config import load_config
from responder.testing import Dovecot, RecordingSMTPServer

SOON = """\
csat:
  after_resolved: 2s
  send_between: "00:00-24:00"
"""


async def test_csat_off_holds_planned_surveys_and_on_sends_them(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    config = setup(tmp_path, dovecot, smtp_server, extra=SOON)
    with_csat = load_config(config)
    setup(tmp_path, dovecot, smtp_server, extra="")
    without = load_config(config)
    async with running(config) as app:
        assert app.surveys is not None and app.reload(with_csat)
        uid = await answered_ticket(app, dovecot, config, None, "reload@example.com")
        await resolve(dovecot, config, uid)
        assert app.reload(without)
        await asyncio.sleep(3.5)  # past the due time
        [survey] = await db_rows(config, "surveys")
        assert survey["state"] == "planned"
        # Nothing woke for it while surveys were off.
        assert app.surveys.wakeups.fired == 0
        assert app.reload(with_csat)

        async def sent() -> bool:
            return (await db_rows(config, "surveys"))[0]["state"] == "sent"

        await wait_until(sent)
    surveys = [r for r in smtp_server.received if r.message["Auto-Submitted"] == "auto-generated"]
    assert len(surveys) == 1
