"""Images and PDFs both ways in the website chat (issue 17), over real HTTP: a visitor's upload
reaches the Telegram staff group as a photo or a document on the ticket, a staff member's
photo reaches the panel, and what is too big, not an image or someone else's is refused."""

from __future__ import annotations

import asyncio
import struct
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import testdb

from responder.domain.models import FileData
from responder.services.retention import purge_once
from responder.storage.store import Store
from responder.testing import TelegramStandIn, free_port
from responder.testing.webchat import Visitor
from tests.harness import (
    STAFF_GROUP,
    chat_url,
    db_rows,
    running,
    shown,
    staff_answer,
    wait_sent,
    webchat_desk,
    write_webchat_config,
)

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8


def png(width: int = 2, height: int = 2) -> bytes:
    """A real PNG (RGB, orange with darker stripes): browsers decode it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    stripe = (b"\xff\x80\x00", b"\xc0\x50\x00")
    rows = b"".join(b"\x00" + stripe[y // 10 % 2] * width for y in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def test_a_visitors_png_and_pdf_reach_the_staff_group_as_photo_and_document(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    image = png()
    async with webchat_desk(tmp_path, tg) as (config, visitor):
        async with visitor.stream() as stream:
            sent = await visitor.upload(image, "kaos-rusak.png", "Kaosnya sobek kak", "c-file-0001")
            again = await visitor.upload(
                image, "kaos-rusak.png", "Kaosnya sobek kak", "c-file-0001"
            )
            [photo] = await wait_sent(tg, STAFF_GROUP, 1)
            pdf = await visitor.upload(PDF, "../../invoice 12.pdf", content_type="application/pdf")
            [_, document] = await wait_sent(tg, STAFF_GROUP, 2)
            mine, _ack, pdf_event = await stream.wait(3)
        status, body, headers = await visitor.file(mine["file"]["key"])
        pdf_status, pdf_body, pdf_headers = await visitor.file(pdf_event["file"]["key"])
    [ticket] = await db_rows(config, "tickets")
    assert sent.status == 202 and again.status == 202 and again.body == sent.body
    assert pdf.status == 202
    # Staff see the file itself on the ticket, the visitor's words as its caption.
    assert photo.method == "sendPhoto" and photo.file_size == len(image)
    assert f"#{ticket['ref']}" in shown(photo) and "Kaosnya sobek kak" in shown(photo)
    assert document.method == "sendDocument" and document.file_name == "invoice 12.pdf"
    assert document.file_size == len(PDF) and f"#{ticket['ref']}" in shown(document)
    # The panel shows the visitor their own file, served as what it is.
    assert mine["file"] == {
        "key": "vc-file-0001",
        "name": "kaos-rusak.png",
        "mime": "image/png",
        "size": len(image),
    }
    assert mine["text"] == "Kaosnya sobek kak"
    assert status == 200 and body == image and headers["Content-Type"] == "image/png"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Content-Disposition"].startswith("inline;")
    assert pdf_status == 200 and pdf_body == PDF
    assert pdf_headers["Content-Type"] == "application/pdf"
    assert pdf_headers["Content-Disposition"].startswith("attachment;")
    assert "invoice%2012.pdf" in pdf_headers["Content-Disposition"]
    assert len(await db_rows(config, "chat_files")) == 2  # the retry kept nothing more


async def test_a_staff_photo_and_pdf_reach_the_panel_and_come_back_after_a_reload(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    async with webchat_desk(tmp_path, tg) as (_config, visitor):
        async with visitor.stream() as stream:
            await visitor.send("Boleh lihat fotonya kak?")
            [relay] = await wait_sent(tg, STAFF_GROUP, 1)
            await stream.wait(2)
            await staff_answer(tg, relay, "Ini kak fotonya", photo=JPEG)
            await staff_answer(tg, relay, "", document=("katalog.pdf", "application/pdf", PDF))
            *_, photo, catalogue = await stream.wait(4)
        status, body, headers = await visitor.file(photo["file"]["key"])
        reloaded = await visitor.session()
        await asyncio.sleep(0.2)
    assert photo["from"] == "staff" and photo["text"] == "Ini kak fotonya"
    assert photo["file"]["mime"] == "image/jpeg"
    assert status == 200 and body == JPEG and headers["Content-Type"] == "image/jpeg"
    assert catalogue["text"] == "" and catalogue["file"]["name"] == "katalog.pdf"
    assert [e.get("file") for e in reloaded.body["history"][-2:]] == [
        photo["file"],
        catalogue["file"],
    ]
    assert len(await wait_sent(tg, STAFF_GROUP, 1)) == 1  # staff are told of no refusal


async def test_a_staff_file_the_chat_cannot_take_is_refused_and_staff_hear_why(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    big = b"%PDF-1.4\n" + bytes(70 * 1024)
    async with webchat_desk(tmp_path, tg, "    max_file: 64KB") as (_config, visitor):
        await visitor.send("Ada katalognya kak?")
        [relay] = await wait_sent(tg, STAFF_GROUP, 1)
        await staff_answer(tg, relay, "", document=("katalog.pdf", "application/pdf", big))
        await staff_answer(tg, relay, "Ini kak", document=("daftar.xlsx", "application/zip", PDF))
        [_, too_big, other] = await wait_sent(tg, STAFF_GROUP, 3)
        history = (await visitor.session()).body["history"]
    assert "Tidak terkirim" in shown(too_big) and "64 KB" in shown(too_big)
    assert "lewat chat situs web" in shown(too_big)
    assert "teks Anda terkirim, lampirannya tidak" in shown(other)
    assert [e["text"] for e in history if e["from"] == "staff"] == ["Ini kak"]
    assert all("file" not in e for e in history)


async def test_the_endpoint_refuses_big_files_other_types_and_another_visitors_file(
    tmp_path: Path,
) -> None:
    port = free_port()
    config = write_webchat_config(tmp_path, port, channel_extra="    max_file: 64KB")
    async with running(config), Visitor(chat_url(port)) as a, Visitor(chat_url(port)) as b:
        await a.session()
        await b.session()
        big = await a.upload(png() + bytes(65 * 1024), "besar.png", content_type="image/png")
        fake = await a.upload(b"MZ\x90\x00 not an image", "foto.png", content_type="image/png")
        empty = await a.upload(b"", "kosong.png")
        sent = await a.upload(png(), "foto.png", client_id="a-private-1")
        own = await a.file("va-private-1")
        other = await b.file("va-private-1")
        forged = await b.file("va-private-1", token=b.token.replace(".", "x.", 1))  # type: ignore[union-attr]
        # The conversation's own token opens no file from a link, and a file link's token
        # opens no conversation.
        by_token = await a.file("va-private-1", token=a.token)
        file_token = await a.request("POST", "session", {"token": a.file_token})
        bare = await a.request("POST", "files", png(), params={"client_id": "c-no-token"})
    assert big.status == 413 and "65536" in big.body["error"]
    assert fake.status == 415 and "PDF" in fake.body["error"]
    assert empty.status == 400
    assert sent.status == 202 and own[0] == 200
    assert other[0] == 404 and other[1] != own[1]
    assert forged[0] == 401 and by_token[0] == 401
    assert file_token.status == 200 and file_token.body["visitor"] != a.visitor
    assert bare.status == 401
    assert len(await db_rows(config, "chat_files")) == 1
    assert len(await db_rows(config, "inbound")) == 1


async def test_files_are_kept_once_read_only_with_their_visitor_and_purged_with_the_texts(
    tmp_path: Path,
) -> None:
    now = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    store = Store(testdb.url(tmp_path / "files.db"), clock=lambda: now)
    await store.open()
    try:
        file = FileData(png(), "kaos.png", "image/png")
        assert await store.keep_chat_file("web", "visitor-aaaaaaaaaaaa", "vc-1", file)
        other = FileData(PDF, "lain.pdf", "application/pdf")
        assert not await store.keep_chat_file("web", "visitor-aaaaaaaaaaaa", "vc-1", other)
        assert await store.chat_file("web", "visitor-aaaaaaaaaaaa", "vc-1") == file
        assert await store.chat_file("web", "visitor-bbbbbbbbbbbb", "vc-1") is None
        assert await store.chat_file("other", "visitor-aaaaaaaaaaaa", "vc-1") is None
        kept = await purge_once(store, now - timedelta(days=1))
        gone = await purge_once(store, now + timedelta(seconds=1))
        assert (kept.files, gone.files) == (0, 1)
        assert await store.chat_file("web", "visitor-aaaaaaaaaaaa", "vc-1") is None
    finally:
        await store.close()


async def test_a_staff_file_that_fails_when_sent_still_lets_their_words_through(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    async with webchat_desk(tmp_path, tg) as (_config, visitor), visitor.stream() as stream:
        await visitor.send("Boleh lihat fotonya kak?")
        [relay] = await wait_sent(tg, STAFF_GROUP, 1)
        await stream.wait(2)
        # Telegram says photo; its bytes are no image: found out only when fetched.
        await staff_answer(tg, relay, "Ini kak fotonya", photo=b"not a picture at all")
        *_, answer = await stream.wait(3)
    assert answer["text"] == "Ini kak fotonya" and "file" not in answer
