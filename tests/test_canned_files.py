"""A rule's canned answer carries files from the templates folder (issue 18): the price list
PDF and the size chart arrive by mail, on Telegram, on WhatsApp and in the web chat, read
only as each reply goes; `check` refuses a missing file and one over a channel's limit."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser
from pathlib import Path

import pytest

from responder.cli import EX_CONFIG, main
from responder.core.canned import canned_ref
from responder.core.channel import ChannelProfile, Draft
from responder.core.guards import GuardContext
from responder.core.window import fit
from responder.domain.window import ApprovedTemplate
from responder.testing import Dovecot, GraphStandIn, RecordingSMTPServer, TelegramStandIn, free_port
from responder.testing.webchat import Visitor
from responder.testing.whatsapp_webhooks import Webhooks
from responder.wire.email.attachments import filled, wanted
from responder.wire.email.compose import ReplySpec, build_reply
from responder.wire.whatsapp.outbound import Outgoing
from responder.wire.whatsapp.wire import WHATSAPP
from tests.harness import (
    SUPPORT,
    WA_NUMBER_ID,
    all_sent,
    chat_url,
    db_rows,
    post_signed,
    running,
    wait_connected,
    wait_sent,
    wait_until,
    write_config,
    write_telegram_config,
    write_webchat_config,
    write_whatsapp_config,
)
from tests.mailfactory import make_mail

CUSTOMER = 555001
WA_CUSTOMER = "6281234567890"
PDF = b"%PDF-1.4\n% daftar harga Toko Contoh\n" + bytes(range(256)) * 40 + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(256)) * 8
CHART = "Ukuran Baju — 2026.png"  # not ASCII: RFC 2231 by mail
PARTS = {
    "subject": "Daftar harga [#{{ ticket.ref }}]",
    "txt": "Halo {{ customer.name }}, terlampir daftar harga terbaru kami (#{{ ticket.ref }}).\n",
    "html": "<p>Halo {{ customer.name }}, terlampir daftar harga terbaru kami.</p>\n",
}


def templates(tmp_path: Path, *, pdf: bytes = PDF, text: str = "") -> Path:
    """The admin's templates folder: price_list in both languages, and the two files."""
    folder = tmp_path / "my-templates"
    for language in ("id", "en"):
        (folder / language).mkdir(parents=True, exist_ok=True)
        for part, body in PARTS.items():
            body = text if text and part == "txt" else body
            (folder / language / f"price_list.{part}.j2").write_text(body)
    (folder / "daftar-harga.pdf").write_bytes(pdf)
    (folder / CHART).write_bytes(PNG)
    return folder


def rules(folder: Path, attach: str = f'[daftar-harga.pdf, "{CHART}"]') -> str:
    return f"""\
templates_dir: {folder}
rules:
  - name: price-list
    when: {{body_contains: ["daftar harga", "price list"]}}
    then: {{template: price_list, attach: {attach}}}
  - name: default
"""


async def test_a_customer_asking_by_mail_gets_the_price_list_attached(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    folder = templates(tmp_path)
    config = write_config(tmp_path, dovecot, smtp_server, extra=rules(folder))
    async with running(config) as app:
        await wait_connected(app)
        raw = make_mail(
            sender="Budi <budi@example.com>", subject="Tanya", body="Minta daftar harga"
        )
        await dovecot.append_async(SUPPORT, raw)
        [received] = await smtp_server.wait_for_async(1, timeout=10)
        await wait_until(lambda: all_sent(config))
    msg = received.message
    assert msg.get_content_type() == "multipart/mixed"
    text = msg.get_body(preferencelist=("plain",))
    assert text is not None and "terlampir daftar harga" in text.get_content()
    files = list(msg.iter_attachments())
    assert [(f.get_filename(), f.get_content_type()) for f in files] == [
        ("daftar-harga.pdf", "application/pdf"),
        (CHART, "image/png"),
    ]
    assert files[0].get_content() == PDF and files[1].get_content() == PNG
    assert all(f.get_content_disposition() == "attachment" for f in files)
    # The reply was recorded without the files: they are read as it goes.
    [reply] = await db_rows(config, "replies")
    assert reply["state"] == "sent" and PDF not in reply["message"]
    assert len(reply["message"]) < len(PDF)


async def test_a_mail_whose_file_is_gone_when_it_goes_is_parked_not_sent_bare(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    folder = templates(tmp_path)
    config = write_config(tmp_path, dovecot, smtp_server, extra=rules(folder))
    async with running(config) as app:
        await wait_connected(app)
        (folder / "daftar-harga.pdf").unlink()  # the admin removed it after `check`
        raw = make_mail(sender="budi@example.com", subject="Tanya", body="price list please")
        await dovecot.append_async(SUPPORT, raw)

        async def parked() -> bool:
            return bool(await db_rows(config, "replies", state="parked"))

        await wait_until(parked)
    [reply] = await db_rows(config, "replies")
    assert reply["state"] == "parked" and "daftar-harga.pdf" in reply["last_error"]
    assert smtp_server.received == []


async def test_a_telegram_customer_gets_the_price_list_as_a_document(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    folder = templates(tmp_path)
    config = write_telegram_config(tmp_path, tg.base_url, staff_chat=None, extra=rules(folder))
    async with running(config):
        tg.push_message(CUSTOMER, "Kak, boleh minta daftar harga?", first_name="Budi")
        document, photo = await wait_sent(tg, CUSTOMER, 2)
    [ticket] = await db_rows(config, "tickets")
    # The words fit under a caption: they go with the first file, not on their own.
    assert document.method == "sendDocument" and document.file_name == "daftar-harga.pdf"
    assert document.text is not None and f"#{ticket['ref']}" in document.text
    assert photo.method == "sendPhoto" and photo.text is None
    assert tg.files[str(document.file_id)][1] == PDF
    assert tg.files[str(photo.file_id)][1] == PNG
    [reply] = await db_rows(config, "replies")
    assert reply["state"] == "sent"


async def test_a_text_too_long_for_a_caption_goes_first_then_the_file(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    folder = templates(tmp_path, text="Daftar harga kami: " + "kaos polos 45rb, " * 80 + "\n")
    config = write_telegram_config(
        tmp_path, tg.base_url, staff_chat=None, extra=rules(folder, "[daftar-harga.pdf]")
    )
    async with running(config):
        tg.push_message(CUSTOMER, "daftar harga dong", first_name="Budi")
        words, document = await wait_sent(tg, CUSTOMER, 2)
    assert words.method == "sendMessage" and "kaos polos 45rb" in str(words.text)
    assert document.method == "sendDocument" and document.text is None
    assert tg.files[str(document.file_id)][1] == PDF


async def test_a_whatsapp_customer_gets_the_price_list_as_a_document_message(
    tmp_path: Path, graph: GraphStandIn
) -> None:
    folder = templates(tmp_path)
    port = free_port()
    config = write_whatsapp_config(tmp_path, graph.base_url, port, extra=rules(folder))
    hooks = Webhooks(phone_number_id=WA_NUMBER_ID)
    async with running(config):
        assert (await post_signed(port, hooks.text(WA_CUSTOMER, "price list please")))[0] == 200
        document, image = await graph.wait_for_sent_async(2, 10.0)
    [ticket] = await db_rows(config, "tickets")
    assert document.type == "document" and image.type == "image"
    body = document.payload["document"]
    assert body["filename"] == "daftar-harga.pdf" and f"#{ticket['ref']}" in body["caption"]
    # Uploaded through /media as the reply went; the message names the upload's id.
    assert graph.media[body["id"]].data == PDF
    assert graph.media[image.payload["image"]["id"]].data == PNG
    assert "responder_upload" not in document.payload


async def test_a_web_chat_visitor_gets_the_price_list_as_files_in_the_panel(
    tmp_path: Path,
) -> None:
    folder = templates(tmp_path)
    port = free_port()
    config = write_webchat_config(tmp_path, port, extra=rules(folder))
    async with running(config), Visitor(chat_url(port)) as visitor:
        await visitor.session("id")
        async with visitor.stream() as stream:
            await visitor.send("Halo, minta daftar harga ya")
            _mine, answer = await stream.wait(2)
        pdf = await visitor.file(answer["file"]["key"])
        chart = await visitor.file(answer["files"][1]["key"])
        history = (await visitor.session("id")).body["history"]
    assert "terlampir daftar harga" in answer["text"]
    assert [f["name"] for f in answer["files"]] == ["daftar-harga.pdf", CHART]
    assert pdf[0] == 200 and pdf[1] == PDF and pdf[2]["Content-Type"] == "application/pdf"
    assert chart[0] == 200 and chart[1] == PNG
    # A reload shows the same files: they were kept in chat_files once, as the answer went.
    assert history[-1]["files"] == answer["files"]


def test_check_refuses_a_missing_file_naming_the_rules_attach_line(
    tmp_path: Path, tg: TelegramStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = templates(tmp_path)
    config = write_telegram_config(
        tmp_path, tg.base_url, extra=rules(folder, "[daftar-harga.pdf, katalog.pdf]")
    )
    assert main(["check", "-c", str(config)]) == EX_CONFIG
    err = capsys.readouterr().err
    line = (
        config.read_text()
        .splitlines()
        .index("    then: {template: price_list, attach: [daftar-harga.pdf, katalog.pdf]}")
    )
    assert f"{config}:{line + 1}:" in err
    assert "rules[0].then.attach[1]" in err and "katalog.pdf: no such file" in err


def test_check_refuses_a_file_over_a_channels_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = templates(tmp_path, pdf=b"%PDF-1.7\n" + bytes(100 * 1024))
    config = write_webchat_config(
        tmp_path, free_port(), extra=rules(folder), channel_extra="    max_file: 64KB"
    )
    assert main(["check", "-c", str(config)]) == EX_CONFIG
    err = capsys.readouterr().err
    assert f"{config}:" in err and "rules[0].then.attach[0]" in err
    assert "daftar-harga.pdf is 100 KB, over the 64 KB a document may be on channel web" in err


def test_check_refuses_what_no_channel_can_send(
    tmp_path: Path, tg: TelegramStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = templates(tmp_path)
    (folder / "harga.docx").write_bytes(b"PK\x03\x04 a word document")
    config = write_telegram_config(tmp_path, tg.base_url, extra=rules(folder, "[harga.docx]"))
    assert main(["check", "-c", str(config)]) == EX_CONFIG
    assert "not a PDF, a JPEG or a PNG picture" in capsys.readouterr().err


async def test_a_failed_send_is_retried_and_the_files_go_once(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    folder = templates(tmp_path)
    config = write_config(tmp_path, dovecot, smtp_server, extra=rules(folder))
    smtp_server.fail_next(451, count=2)  # "try again later", twice
    async with running(config) as app:
        await wait_connected(app)
        raw = make_mail(sender="budi@example.com", subject="Tanya", body="price list please")
        await dovecot.append_async(SUPPORT, raw)
        [received] = await smtp_server.wait_for_async(1, timeout=10)
        await wait_until(lambda: all_sent(config))
        await asyncio.sleep(0.5)
    assert len(smtp_server.received) == 1
    [pdf, _chart] = received.message.iter_attachments()
    assert pdf.get_content() == PDF
    [reply] = await db_rows(config, "replies")
    assert reply["state"] == "sent" and reply["attempts"] == 3


@pytest.mark.parametrize(
    "attach, expected",
    [
        ("[../secrets/harga.pdf]", "no folder"),
        ("[id/acknowledgement.txt.j2]", "no folder"),
        ("[harga.pdf, harga.pdf]", "a file is named twice"),
    ],
)
def test_check_refuses_an_attach_that_is_not_a_file_name(
    tmp_path: Path,
    tg: TelegramStandIn,
    capsys: pytest.CaptureFixture[str],
    attach: str,
    expected: str,
) -> None:
    config = write_telegram_config(tmp_path, tg.base_url, extra=rules(templates(tmp_path), attach))
    assert main(["check", "-c", str(config)]) == EX_CONFIG
    err = capsys.readouterr().err
    assert f"{config}:" in err and "rules[0].then.attach" in err and expected in err


def test_a_long_name_that_is_not_ascii_survives_rfc_2231() -> None:
    name = "Daftar Harga Grosir — Kaos, Kemeja & Celana (Januari–Desember 2026) ✓.pdf"
    file = canned_ref(name, "application/pdf")
    spec = ReplySpec(
        "cs@toko-contoh.id",
        None,
        "budi@example.com",
        "",
        "Harga",
        "lihat lampiran",
        "<p>x</p>",
        "a.1@toko-contoh.id",
        datetime(2026, 12, 1, tzinfo=UTC),
        None,
        (),
        (),
        attachments=(file,),
    )
    stored = build_reply(spec)
    assert wanted(stored) == [name]
    raw = filled(stored, {name: PDF})
    assert all(len(line) <= 78 for line in raw.split(b"\r\n"))  # RFC 5322 section 2.1.1
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    [part] = msg.iter_attachments()
    assert part.get_filename() == name and part.get_content() == PDF
    assert msg["Auto-Submitted"] == "auto-replied"


def test_past_whatsapps_window_the_approved_template_goes_without_the_files() -> None:
    """A canned answer to a message Meta delivered a day late: only the approved template
    can reach the customer, and it carries no file of ours."""
    now = datetime(2030, 1, 9, 10, 0, tzinfo=UTC)
    approved = ApprovedTemplate("toko_price_list_v1", "id", (), ("customer_name",), ())
    profile = ChannelProfile(
        name="shop-wa",
        address="",
        display_name="Toko Contoh",
        language="id",
        envelope_from="",
        guard=GuardContext(own_addresses=frozenset(), own_domains=frozenset()),
        wire=WHATSAPP,
        approved=(("price_list", approved),),
    )
    pdf = canned_ref("daftar-harga.pdf", "application/pdf")
    draft = Draft("price_list", WA_CUSTOMER, text="Terlampir", to_name="Budi", attach=(pdf,))
    inside = fit(draft, profile, "id", now - timedelta(hours=2), now)
    late = fit(draft, profile, "id", now - timedelta(hours=30), now)
    assert isinstance(inside, Draft) and inside.attach == (pdf,)
    assert isinstance(late, Draft) and late.template is not None and late.attach == ()
    [request] = Outgoing.from_bytes(WHATSAPP.render(late, profile, now).message).requests
    assert request["type"] == "template"
