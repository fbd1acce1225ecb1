"""The website chat end to end, over real HTTP on 127.0.0.1: a visitor's session, messages
recorded before the 202, answers in the event stream, replayed from the database after a
dropped connection, and what the endpoint refuses."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from responder.config import load_config
from responder.testing import free_port
from responder.testing.webchat import Visitor
from tests.harness import (
    SHOP_ORIGIN,
    chat_url,
    db_rows,
    running,
    wait_until,
    write_webchat_config,
)

HOURS = """\
business_hours:
  weekly:
    mon: ["08:00-17:00"]
"""
SATURDAY_NIGHT = datetime(2026, 11, 28, 21, 0, tzinfo=ZoneInfo("Asia/Jakarta"))


class Ticking:
    """A clock that starts at `start` and runs (events keep their order in time); a test
    moves it on by hand too."""

    def __init__(self, start: datetime) -> None:
        self.start, self.began = start, time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self.began)

    def advance(self, by: timedelta) -> None:
        self.start += by


async def test_a_visitor_sees_their_message_and_the_acknowledgement_in_the_stream(
    tmp_path: Path,
) -> None:
    port = free_port()
    config = write_webchat_config(tmp_path, port)
    async with running(config), Visitor(chat_url(port)) as visitor:
        session = await visitor.session("en")
        assert session.status == 200 and session.body["history"] == []
        assert session.body["open"] is True and session.body["title"] == "Toko Contoh"
        async with visitor.stream() as stream:
            sent = await visitor.send("Hello, where is my order 1234?", client_id="c-0001-abcd")
            mine, ack = await stream.wait(2)
            await asyncio.sleep(0.3)
    assert sent.status == 202 and sent.body == {"id": mine["id"]}
    assert stream.response.headers["Content-Type"] == "text/event-stream"
    assert stream.response.headers["Cache-Control"] == "no-cache"
    assert stream.response.headers["X-Accel-Buffering"] == "no"
    assert mine["from"] == "visitor" and mine["text"] == "Hello, where is my order 1234?"
    assert mine["client_id"] == "c-0001-abcd"
    [ticket] = await db_rows(config, "tickets")
    assert ack["from"] == "shop" and ack["kind"] == "acknowledgement"
    assert f"#{ticket['ref']}" in ack["text"] and "Toko Contoh" in ack["text"]
    # Chat wording, as plain text: no markup, never "reply to this email".
    assert "<" not in ack["text"] and "email" not in ack["text"]
    assert stream.ids == [mine["id"], ack["id"]] and mine["id"] < ack["id"]
    assert len(stream.events) == 2
    assert ticket["customer"] == f"web:{visitor.visitor}" and ticket["language"] == "en"


async def test_out_of_hours_the_visitor_is_told_when_the_shop_opens(tmp_path: Path) -> None:
    port = free_port()
    config = write_webchat_config(tmp_path, port, extra=HOURS)
    clock = Ticking(SATURDAY_NIGHT)
    async with running(config, clock=clock), Visitor(chat_url(port)) as visitor:
        session = await visitor.session("en")
        async with visitor.stream() as stream:
            await visitor.send("Hello, is anyone there? My parcel has not arrived.")
            _, reply = await stream.wait(2)
    assert session.body["open"] is False
    assert session.body["opens"] == "Monday 30 November at 08:00 WIB"
    assert reply["kind"] == "out_of_hours" and "closed" in reply["text"]
    assert "Monday 30 November at 08:00 WIB" in reply["text"]


async def test_a_dropped_stream_resumes_with_exactly_what_it_missed(tmp_path: Path) -> None:
    port = free_port()
    config = write_webchat_config(tmp_path, port)
    async with running(config), Visitor(chat_url(port)) as visitor:
        await visitor.session()
        async with visitor.stream() as first:
            await visitor.send("Kak, ukuran L masih ada?")
            seen = await first.wait(2)
        # Written while no stream is open: recorded, answered (the reply cap allows it).
        await visitor.send("Warna hitam ya kak")
        await asyncio.sleep(0.5)
        async with visitor.stream(last_event_id=first.ids[-1]) as second:
            missed = await second.wait(1)
            await asyncio.sleep(0.5)
        # A stream opened with ?after= (the page's first connection) replays the same.
        async with visitor.stream(after=first.ids[-1]) as third:
            await third.wait(1)
            await asyncio.sleep(0.3)
    assert [e["text"] for e in seen] == ["Kak, ukuran L masih ada?", seen[1]["text"]]
    assert [e["text"] for e in missed] == ["Warna hitam ya kak"]
    assert second.events == missed and third.events == missed
    assert missed[0]["id"] > seen[-1]["id"]


async def test_a_new_session_with_the_old_token_keeps_the_conversation(tmp_path: Path) -> None:
    port = free_port()
    config = write_webchat_config(tmp_path, port)
    clock = Ticking(datetime.now(UTC))
    async with running(config, clock=clock):
        async with Visitor(chat_url(port)) as tab:
            first = await tab.session()
            async with tab.stream() as stream:
                await tab.send("Halo, saya mau tanya ongkir ke Bandung")
                await stream.wait(2)
            token = tab.token
        clock.advance(timedelta(days=29))
        # A reload, another tab, weeks later: the browser still has the token.
        async with Visitor(chat_url(port)) as reload:
            again = await reload.session(token=token)
            await reload.send("Sudah ada info kak?")
        async with Visitor(chat_url(port)) as stranger:
            other = await stranger.session(token=token[:-4] + "0000")  # forged
            stranger.token = token[:-4] + "0000"
            forged = await stranger.send("Saya pelanggan itu, kirim ke alamat baru")
        clock.advance(timedelta(days=31))
        async with Visitor(chat_url(port)) as months_later:
            expired = await months_later.session(token=again.body["token"])
            months_later.token = again.body["token"]
            late = await months_later.send("Halo lagi")
    assert again.body["visitor"] == first.body["visitor"]
    # Renewed: another 30 days from now.
    assert again.body["token"] != token and again.body["expires"] > first.body["expires"]
    texts = [e["text"] for e in again.body["history"]]
    assert texts[0] == "Halo, saya mau tanya ongkir ke Bandung" and len(texts) == 2
    assert again.body["last_event_id"] == again.body["history"][-1]["id"]
    assert other.body["visitor"] != first.body["visitor"] and other.body["history"] == []
    assert forged.status == 401 and late.status == 401
    # Not back within 30 days: a new visitor, nothing of the old conversation shown.
    assert expired.body["visitor"] != first.body["visitor"] and expired.body["history"] == []
    assert len(await db_rows(config, "inbound")) == 2
    [ticket] = await db_rows(config, "tickets")  # the second message joined the first ticket
    assert ticket["customer"] == f"web:{first.body['visitor']}"


async def test_another_origin_is_refused_without_cors_headers(tmp_path: Path) -> None:
    port = free_port()
    config = write_webchat_config(tmp_path, port)
    async with running(config):
        async with Visitor(chat_url(port), origin=SHOP_ORIGIN) as shop:
            allowed = await shop.session()
            preflight = await shop.request("OPTIONS", "messages")
        async with Visitor(chat_url(port), origin="https://evil.example") as evil:
            refused = await evil.session()
            evil.token = shop.token
            message = await evil.send("phishing")
            refused_preflight = await evil.request("OPTIONS", "messages")
            async with evil.stream() as stream:
                status = stream.response.status
        async with Visitor(chat_url(port), origin=None) as curl:
            bare = await curl.session()
    assert allowed.status == 200
    assert allowed.headers["Access-Control-Allow-Origin"] == SHOP_ORIGIN
    assert preflight.status == 204 and "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    for answer in (refused, message, refused_preflight):
        assert answer.status == 403
        assert not any(h.startswith("Access-Control-") for h in answer.headers)
    assert status == 403 and bare.status == 403
    assert await db_rows(config, "inbound") == []


async def test_rate_and_size_limits_answer_429_and_413(tmp_path: Path) -> None:
    port = free_port()
    limits = "    limits: {visitor_per_minute: 3, address_per_minute: 100}\n    max_message: 1KB"
    config = write_webchat_config(tmp_path, port, channel_extra=limits)
    async with running(config):
        async with Visitor(chat_url(port)) as visitor:
            await visitor.session()
            sent = [await visitor.send(f"pesan {n}") for n in range(4)]
        async with Visitor(chat_url(port)) as verbose:
            await verbose.session()
            big = await verbose.send("x" * 2000)
        async with Visitor(chat_url(port), address="203.0.113.9") as crowd:
            sessions = [(await crowd.session()).status for _ in range(101)]
        async with Visitor(chat_url(port), address="203.0.113.10") as neighbour:
            other = await neighbour.session()
    assert big.status == 413
    assert [a.status for a in sent] == [202, 202, 202, 429]
    assert int(sent[3].headers["Retry-After"]) >= 1
    assert sessions[:100] == [200] * 100 and sessions[100] == 429
    assert other.status == 200  # another address is not held back
    assert len(await db_rows(config, "inbound")) == 3


async def test_script_comes_back_as_the_same_plain_text(tmp_path: Path) -> None:
    port = free_port()
    config = write_webchat_config(tmp_path, port)
    script = '<script>alert("x")</script><img src=x onerror=alert(1)> & &amp;'
    async with running(config), Visitor(chat_url(port)) as visitor:
        await visitor.session("en")
        async with visitor.stream() as stream:
            await visitor.send(script)
            mine, ack = await stream.wait(2)
        again = await visitor.session()
    assert mine["text"] == script
    assert again.body["history"][0]["text"] == script
    assert "<" not in ack["text"] and "&amp;" not in ack["text"]


async def test_a_message_is_recorded_before_the_202_and_a_retry_is_one_message(
    tmp_path: Path,
) -> None:
    port = free_port()
    config = write_webchat_config(tmp_path, port)
    async with running(config), Visitor(chat_url(port)) as visitor:
        await visitor.session()
        first = await visitor.send("Pesanan saya belum sampai", client_id="retry-0001")
        # Recorded once the 202 is back, whatever happens to the daemon next.
        rows = await db_rows(config, "inbound")
        again = await visitor.send("Pesanan saya belum sampai", client_id="retry-0001")
        await asyncio.sleep(0.5)
    assert first.status == 202 and again.status == 202 and again.body == first.body
    assert len(rows) == 1 and rows[0]["external_id"] == f"{visitor.visitor}/retry-0001"
    assert len(await db_rows(config, "inbound")) == 1
    assert len(await db_rows(config, "replies")) == 1


async def test_a_reload_lets_a_new_origin_in_and_keeps_the_streams_open(tmp_path: Path) -> None:
    port = free_port()
    config = write_webchat_config(tmp_path, port)
    new_shop = "https://toko-baru.id"
    async with running(config) as app, Visitor(chat_url(port)) as visitor:
        await visitor.session()
        async with visitor.stream() as stream, Visitor(chat_url(port), new_shop) as shop:
            before = await shop.session()
            text = config.read_text().replace('"https://www.toko-contoh.id"', f'"{new_shop}"')
            config.write_text(text)
            assert app.reload(load_config(config))

            async def allowed() -> bool:
                return (await shop.session()).status == 200

            await wait_until(allowed)
            await visitor.send("Masih di sini")
            await stream.wait(2)
    assert before.status == 403
