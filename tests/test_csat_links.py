"""One-click survey links against the real HTTP endpoint: a scanner's GET records nothing, the
customer's POST does, and expired or forged links are refused."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import aiohttp
from harness import Clock, db_rows, local, running
from test_csat_e2e import CUSTOMER, STAFF, answered_ticket, resolve, setup

from responder.testing import Dovecot, RecordingSMTPServer
from responder.testing._net import free_port


def config_with_links(tmp_path: Path, dovecot: Dovecot, smtp: RecordingSMTPServer) -> str:
    port = free_port()
    extra = f"""\
csat:
  links: true
  answer_within: 14d
http:
  port: {port}
  public_url: http://127.0.0.1:{port}/
"""
    setup(tmp_path, dovecot, smtp, extra=extra)
    return f"http://127.0.0.1:{port}"


async def rating(config: Path) -> tuple[object, object, object]:
    [survey] = await db_rows(config, "surveys")
    return survey["rating"], survey["comment"], survey["answered_via"]


async def test_a_link_opens_a_form_and_only_the_post_records(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    base = config_with_links(tmp_path, dovecot, smtp_server)
    config = tmp_path / "config.yaml"
    clock = Clock(local(2030, 1, 7, 10, 0))
    async with running(config, clock=clock) as app, aiohttp.ClientSession() as http:
        uid = await answered_ticket(app, dovecot, config, clock, "link@example.com")
        await resolve(dovecot, config, uid)
        clock.now += timedelta(hours=1)
        assert app.surveys is not None
        await app.surveys.run_due()
        received = await smtp_server.wait_for_async(2, timeout=5)
        survey = received[-1].message
        text = survey.get_body(("plain",)).get_content()
        links = re.findall(rf"{re.escape(base)}/s/[A-Za-z0-9_-]+\?r=\d", text)
        assert [link[-1] for link in links] == ["1", "2", "3", "4", "5"]
        html_part = survey.get_body(("html",)).get_content()
        assert links[1].replace("&", "&amp;") in html_part
        # A mail scanner opens every link, some twice: nothing is recorded.
        for link in links:
            async with http.get(link) as response:
                assert response.status == 200
                assert "no-referrer" in response.headers["Referrer-Policy"]
                assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        async with http.get(links[1]) as response:
            page = await response.text()
        assert 'value="2" checked' in page and "<form" in page and "<script" not in page
        assert await rating(config) == (None, None, None)
        # A POST without a rating asks again and records nothing.
        async with http.post(links[1].split("?")[0], data={"comment": "x"}) as response:
            assert response.status == 200 and "1 sampai 5" in await response.text()
        assert await rating(config) == (None, None, None)
        # The customer confirms 2 with a comment: recorded, and staff hear of it.
        form = {"rating": "2", "comment": "Kurirnya lama <b>sekali</b>"}
        async with http.post(links[1].split("?")[0], data=form) as response:
            assert response.status == 200
            assert "Terima kasih" in await response.text()
        assert await rating(config) == (2, "Kurirnya lama <b>sekali</b>", "link")
        async with http.get(f"{base}/metrics") as response:
            metrics = await response.text()
        assert 'responder_survey_answers_total{channel="support-mail",via="link"} 1' in metrics
        async with http.get(f"{base}/healthz") as response:
            assert response.status == 200 and "support-mail: connected" in await response.text()
        received = await smtp_server.wait_for_async(3, timeout=5)
        notice = received[-1]
        assert notice.rcpt_tos == (STAFF,) and "2/5" in notice.message["Subject"]
        # Forged: one character changed. Expired: after answer_within.
        path = links[0].split("?")[0]
        forged = path[:-1] + ("A" if path[-1] != "A" else "B")
        async with http.get(forged) as response:
            assert response.status == 404
        async with http.post(forged, data={"rating": "5"}) as response:
            assert response.status == 404
        clock.now += timedelta(days=15)
        async with http.get(links[4]) as response:
            assert response.status == 410
            assert "kedaluwarsa" in await response.text() or "expired" in await response.text()
        async with http.post(path, data={"rating": "5"}) as response:
            assert response.status == 410
    assert await rating(config) == (2, "Kurirnya lama <b>sekali</b>", "link")
    assert [r.rcpt_tos for r in smtp_server.received].count((CUSTOMER,)) == 2
