"""The WhatsApp channel end to end: Meta's signed webhooks into the daemon's HTTP endpoint,
replies to the Graph API stand-in, all over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import urllib.request
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from responder.cli import EX_FAILURE, EX_OK, main
from responder.config import load_config
from responder.testing import GraphStandIn, free_port
from responder.testing.whatsapp_webhooks import Webhooks, verify_subscription
from tests.harness import (
    WA_NUMBER_ID,
    WA_TOKEN,
    WA_VERIFY,
    db_rows,
    post_signed,
    running,
    wait_until,
    webhook_url,
    write_whatsapp_config,
)

CUSTOMER = "6281234567890"
hooks = Webhooks(phone_number_id=WA_NUMBER_ID)


post = post_signed


async def wait_sent(graph: GraphStandIn, n: int) -> list[object]:
    return await graph.wait_for_sent_async(n, 10.0)


async def test_a_customer_gets_an_acknowledgement_quoting_their_message(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    port = free_port()
    config = write_whatsapp_config(tmp_path, graph.base_url, port)
    async with running(config):
        body = hooks.text(CUSTOMER, "Halo kak, pesanan saya belum sampai", name="Budi")
        wamid = body["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
        assert await post(port, body) == (200, "ok\n")
        [ack] = await wait_sent(graph, 1)
    [ticket] = await db_rows(config, "tickets")
    assert ticket["customer"] == CUSTOMER and ticket["customer_name"] == "Budi"
    assert ticket["language"] == "id" and ticket["status"] == "open"
    assert ack.to == CUSTOMER and ack.type == "text"
    text = ack.payload["text"]["body"]
    assert f"#{ticket['ref']}" in text and "Budi" in text
    assert ack.payload["context"] == {"message_id": wamid}
    [reply] = await db_rows(config, "replies")
    # The wamid Meta gave our reply is kept: delivery reports and quotes name it.
    assert reply["state"] == "sent" and reply["external_id"] == ack.wamid


async def test_metas_retry_of_a_recorded_webhook_is_not_answered_twice(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    port = free_port()
    config = write_whatsapp_config(tmp_path, graph.base_url, port)
    async with running(config):
        body = hooks.text(CUSTOMER, "Apakah toko buka hari ini?", name="Sari")
        assert (await post(port, body))[0] == 200
        await wait_sent(graph, 1)
        # Meta sends again what it thinks was not acknowledged: the same wamid, later.
        assert (await post(port, body))[0] == 200
        assert (await post(port, body))[0] == 200
        await asyncio.sleep(1.0)
    assert len(graph.sent) == 1
    assert len(await db_rows(config, "tickets")) == 1
    assert len(await db_rows(config, "inbound")) == 1


async def test_a_request_not_signed_by_meta_is_refused_before_it_is_read(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    port = free_port()
    config = write_whatsapp_config(tmp_path, graph.base_url, port)
    async with running(config):
        body = hooks.text(CUSTOMER, "Transfer ke rekening ini ya", name="Penipu")
        assert (await post(port, body, signature=""))[0] == 401
        assert (await post(port, body, signature="sha256=" + "0" * 64))[0] == 401
        metrics = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/metrics")
        await asyncio.sleep(0.5)
    assert graph.sent == []
    assert await db_rows(config, "inbound") == []
    assert 'responder_webhook_refused_total{channel="shop-wa",reason="signature"} 2' in metrics


async def test_the_subscription_handshake_answers_only_the_right_verify_token(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    port = free_port()
    config = write_whatsapp_config(tmp_path, graph.base_url, port)
    async with running(config):
        url = webhook_url(port)
        good = await asyncio.to_thread(verify_subscription, url, WA_VERIFY, "8817263")
        bad = await asyncio.to_thread(verify_subscription, url, "guessed-token", "8817263")
    assert good == (200, "8817263")
    assert bad[0] == 403


SATURDAY_NIGHT = datetime(2026, 11, 28, 21, 0, tzinfo=ZoneInfo("Asia/Jakarta"))
HOURS = """\
business_hours:
  weekly:
    mon: ["08:00-17:00"]
"""


async def test_out_of_hours_in_english_when_the_customer_writes_english(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    port = free_port()
    config = write_whatsapp_config(tmp_path, graph.base_url, port, extra=HOURS)
    async with running(config, clock=lambda: SATURDAY_NIGHT):
        text = "Hello, my order has not arrived yet, could you please check it for me?"
        await post(port, hooks.text(CUSTOMER, text, name="Sarah"))
        [reply] = await wait_sent(graph, 1)
        await post(port, hooks.text(CUSTOMER, "Are you there?", name="Sarah"))
        await wait_until(lambda: _decided(config, 2))
    body = reply.payload["text"]["body"]
    assert "we are closed" in body and "Monday" in body
    # The follow-up joins the ticket and is not answered a second time.
    assert len(graph.sent) == 1


async def test_a_refused_access_token_fails_the_channel_loudly_and_the_reply_waits(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    graph.invalid_token = True
    port = free_port()
    config = write_whatsapp_config(tmp_path, graph.base_url, port)
    async with running(config) as app:
        channel = app.channels["shop-wa"]

        async def failed() -> bool:
            return channel.state == "failed"

        await wait_until(failed)
        health = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/healthz", 503)
        # Messages still come in and are kept while the token is fixed.
        assert (await post(port, hooks.text(CUSTOMER, "Halo?", name="Budi")))[0] == 200
        await wait_until(lambda: _decided(config, 1))
    assert "shop-wa" in health and "access token was refused" in health
    assert "access_token_file" in health
    assert graph.sent == []
    [reply] = await db_rows(config, "replies")
    assert reply["state"] == "pending"


def _get(url: str, status: int = 200) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            assert response.status == status
            return str(response.read().decode())
    except urllib.error.HTTPError as error:
        assert error.code == status
        return str(error.read().decode())


async def _decided(config: Path, n: int) -> bool:
    rows = await db_rows(config, "inbound")
    return len(rows) >= n and all(r["state"] == "done" for r in rows)


def test_check_connect_asks_meta_about_the_number_and_names_a_refused_token(
    tmp_path: Path, graph: GraphStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_whatsapp_config(tmp_path, graph.base_url, free_port())
    assert main(["check", "--connect", "-c", str(config)]) == EX_OK
    assert "ok   shop-wa WhatsApp: the access token works for +1 555-078-3881 (Toko Contoh)" in (
        capsys.readouterr().out
    )
    graph.invalid_token = True
    assert main(["check", "--connect", "-c", str(config)]) == EX_FAILURE
    out = capsys.readouterr().out
    assert "FAIL shop-wa WhatsApp: the access token was refused by 127.0.0.1" in out
    assert "check access_token_file" in out and WA_TOKEN not in out


async def test_a_body_over_the_limit_is_refused_unread_and_the_channel_carries_on(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    port = free_port()
    config = write_whatsapp_config(
        tmp_path, graph.base_url, port, channel_extra="    max_body: 16KB"
    )
    async with running(config):
        huge = hooks.text(CUSTOMER, "x" * 20_000, name="Budi")
        assert (await post(port, huge))[0] == 413
        assert (await post(port, hooks.text(CUSTOMER, "Halo", name="Budi")))[0] == 200
        await wait_sent(graph, 1)
        metrics = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/metrics")
    assert 'responder_webhook_refused_total{channel="shop-wa",reason="too-big"} 1' in metrics
    assert len(await db_rows(config, "inbound")) == 1


async def test_a_message_to_another_number_of_the_app_is_not_answered_from_this_one(
    tmp_path: Path, graph: GraphStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    # Meta posts every number of the app to its one callback URL: a customer of the shop's
    # other number must not get a reply from this one.
    port = free_port()
    config = write_whatsapp_config(tmp_path, graph.base_url, port)
    other = Webhooks(phone_number_id="208899776655443")
    async with running(config):
        assert (await post(port, other.text(CUSTOMER, "Halo toko cabang", name="Budi")))[0] == 200
        assert (await post(port, hooks.text(CUSTOMER, "Halo", name="Budi")))[0] == 200
        await wait_sent(graph, 1)
        await asyncio.sleep(0.3)
        metrics = await asyncio.to_thread(_get, f"http://127.0.0.1:{port}/metrics")
    assert len(graph.sent) == 1 and len(await db_rows(config, "inbound")) == 1
    assert 'responder_webhook_refused_total{channel="shop-wa",reason="other-number"} 1' in metrics
    assert "208899776655443" in caplog.text and WA_NUMBER_ID in caplog.text


async def test_a_renewed_access_token_is_taken_on_reload_and_waiting_replies_go_out(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    # The system user's token was revoked: the channel says so, the webhook still records,
    # the reply waits; the admin puts the new token in its file and reloads.
    port = free_port()
    config = write_whatsapp_config(tmp_path, graph.base_url, port)
    renewed = "EAAG-renewed-token-for-responder-tests"
    graph.token = renewed
    async with running(config) as app:

        async def state_is(want: str) -> bool:
            return app.health()["shop-wa"] == want

        await wait_until(lambda: state_is("failed"))
        assert (await post(port, hooks.text(CUSTOMER, "Halo", name="Budi")))[0] == 200
        await asyncio.sleep(0.5)
        assert not graph.sent
        (tmp_path / "whatsapp-token").write_text(renewed + "\n")
        assert app.reload(load_config(config))
        await wait_until(lambda: state_is("connected"))
        await wait_sent(graph, 1)
        assert (await post(port, hooks.text("6289876543210", "Halo", name="Sari")))[0] == 200
        await wait_sent(graph, 2)
    assert [r["state"] for r in await db_rows(config, "replies")] == ["sent", "sent"]
