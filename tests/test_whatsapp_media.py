"""A WhatsApp customer's photo or file reaches the Telegram staff group: fetched from the
Graph API with the token and uploaded there, retried when the fetch fails, and when it
keeps failing (or the file is gone), staff read that it could not be fetched and why."""

from __future__ import annotations

import hashlib
from pathlib import Path

from responder.testing import GraphStandIn, TelegramStandIn, free_port
from responder.testing.whatsapp_webhooks import Webhooks
from tests.harness import (
    STAFF_GROUP,
    WA_NUMBER_ID,
    add_staff_bot,
    db_rows,
    post_signed,
    running,
    shown,
    wait_sent,
    write_whatsapp_config,
)

CUSTOMER = "6281234567890"
hooks = Webhooks(phone_number_id=WA_NUMBER_ID)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 40 + b"\xff\xd9"
PDF = b"%PDF-1.4\n" + b"1 0 obj << /Type /Catalog >> endobj\n" * 200 + b"%%EOF\n"


def config_with_desk(tmp_path: Path, graph: GraphStandIn, tg: TelegramStandIn) -> tuple[Path, int]:
    port = free_port()
    return add_staff_bot(write_whatsapp_config(tmp_path, graph.base_url, port), tmp_path, tg), port


def sent(graph: GraphStandIn, data: bytes, mime: str, filename: str | None = None) -> str:
    return graph.add_media(data, mime, filename)


async def test_a_customers_photo_and_pdf_are_posted_in_the_staff_group_on_the_ticket(
    tmp_path: Path, graph: GraphStandIn, tg: TelegramStandIn
) -> None:
    config, port = config_with_desk(tmp_path, graph, tg)
    photo = sent(graph, JPEG, "image/jpeg")
    pdf = sent(graph, PDF, "application/pdf", "Invoice 0412.pdf")
    async with running(config):
        digest = hashlib.sha256(JPEG).hexdigest()
        body = hooks.media(CUSTOMER, "image", photo, "image/jpeg", digest, name="Budi",
                           caption="Barangnya datang rusak")  # fmt: skip
        assert (await post_signed(port, body))[0] == 200
        digest = hashlib.sha256(PDF).hexdigest()
        body = hooks.media(CUSTOMER, "document", pdf, "application/pdf", digest, name="Budi",
                           filename="Invoice 0412.pdf")  # fmt: skip
        assert (await post_signed(port, body))[0] == 200
        posts = await wait_sent(tg, STAFF_GROUP, 2)
    [ticket] = await db_rows(config, "tickets")
    ref = f"#{ticket['ref']}"
    # The bytes the customer sent, as a photo staff see inline with the customer's words as
    # its caption, and the PDF under its own name; each names the ticket and the customer.
    by_method = {p.method: p for p in posts}
    assert sorted(by_method) == ["sendDocument", "sendPhoto"]
    photo_post, pdf_post = by_method["sendPhoto"], by_method["sendDocument"]
    assert photo_post.file_size == len(JPEG) and "Barangnya datang rusak" in shown(photo_post)
    assert pdf_post.file_name == "Invoice 0412.pdf" and pdf_post.file_size == len(PDF)
    for post in posts:
        assert ref in shown(post) and "Budi" in shown(post)
    assert sorted(graph.downloads) == sorted([photo, pdf])  # fetched with the token


async def test_a_failed_fetch_is_tried_again_and_the_photo_still_arrives(
    tmp_path: Path, graph: GraphStandIn, tg: TelegramStandIn
) -> None:
    config, port = config_with_desk(tmp_path, graph, tg)
    photo = sent(graph, JPEG, "image/jpeg")
    graph.fail_next(131000, endpoint="media")  # Meta's "something went wrong", once
    async with running(config):
        body = hooks.media(CUSTOMER, "image", photo, "image/jpeg", "x", name="Budi")
        assert (await post_signed(port, body))[0] == 200
        [post] = await wait_sent(tg, STAFF_GROUP, 1)
    assert post.method == "sendPhoto" and post.file_size == len(JPEG)
    assert graph.downloads == [photo]


async def test_staff_are_told_when_a_file_is_gone_and_when_fetching_keeps_failing(
    tmp_path: Path, graph: GraphStandIn, tg: TelegramStandIn
) -> None:
    config, port = config_with_desk(tmp_path, graph, tg)
    gone = sent(graph, JPEG, "image/jpeg")
    graph.forget_media(gone)  # Meta keeps media 30 days
    async with running(config) as app:
        body = hooks.media(CUSTOMER, "image", gone, "image/jpeg", "x", name="Budi")
        assert (await post_signed(port, body))[0] == 200
        await wait_sent(tg, STAFF_GROUP, 1)
        failing = sent(graph, PDF, "application/pdf", "katalog.pdf")
        graph.fail_next(131000, times=20, endpoint="media")
        body = hooks.media("6289876543210", "document", failing, "application/pdf", "x",
                           name="Sari", filename="katalog.pdf")  # fmt: skip
        assert (await post_signed(port, body))[0] == 200
        posts = await wait_sent(tg, STAFF_GROUP, 2, timeout=20.0)
        # WhatsApp's trouble is not the staff bot's: it stays connected throughout.
        assert app.health()["shop-bot"] == "connected"
    budi, sari = [f"#{t['ref']}" for t in await db_rows(config, "tickets")]
    expired, kept_failing = [shown(p) for p in posts]
    assert [p.method for p in posts] == ["sendMessage", "sendMessage"]
    # What they can do, the ticket and customer, and why: Meta's words and code.
    assert "tidak dapat diambil" in expired and "Minta pelanggan mengirimnya lagi" in expired
    assert budi in expired and "30 days" in expired
    assert sari in kept_failing and "Sari" in kept_failing
    assert "131000" in kept_failing
    replies = await db_rows(config, "replies")
    assert all(r["state"] == "sent" for r in replies if r["channel"] == "shop-bot")
