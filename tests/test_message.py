"""The one conversation model: what each channel's wire module makes of its bytes, and the
registry that names every channel type's parts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, get_args

import pytest

from responder.channels.registry import CHANNEL_TYPES, template_parts
from responder.domain.message import Attachment
from responder.wire.email.wire import EMAIL
from responder.wire.telegram.wire import TELEGRAM

MAIL = (
    b"From: Budi <budi@example.com>\r\n"
    b"Reply-To: orders@example.com\r\n"
    b"Subject: Re: Pesanan saya [#ABC234]\r\n"
    b"Message-ID: <m2@example.com>\r\n"
    b"In-Reply-To: <m1@toko-contoh.id>\r\n"
    b"References: <m0@example.com> <m1@toko-contoh.id>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
    b"--b\r\nContent-Type: text/plain\r\n\r\nIni buktinya.\r\n"
    b"--b\r\nContent-Type: application/pdf\r\n"
    b'Content-Disposition: attachment; filename="bukti transfer.pdf"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n"
    b"--b--\r\n"
)


def test_an_email_as_a_message() -> None:
    received = datetime(2030, 1, 7, 4, tzinfo=UTC)
    msg = EMAIL.parse(MAIL, received, "m2@example.com")
    assert (msg.sender.address, msg.sender.name, msg.sender.reply_to) == (
        "budi@example.com",
        "Budi",
        "orders@example.com",
    )
    assert msg.thread.parents == ("m1@toko-contoh.id", "m0@example.com")
    assert msg.thread.refs == ("ABC234",)
    assert msg.thread.own_ids == ("m2@example.com", "m2@example.com")
    assert msg.thread.conversation is None  # mail follows its thread, not the sender
    assert (msg.subject, msg.title, msg.text.strip()) == (
        "Re: Pesanan saya [#ABC234]",
        "Pesanan saya",
        "Ini buktinya.",
    )
    assert msg.attachments == (Attachment("application/pdf", "bukti transfer.pdf", 9),)
    assert msg.signals.mail is not None and msg.signals.mail.header("Reply-To")
    assert (msg.signals.person, msg.at) == (False, received)


def update(message: dict[str, Any], kind: str = "message", staff: bool = False) -> bytes:
    return json.dumps({"update_id": 5, kind: message, "_responder": {"staff": staff}}).encode()


def chat_message(chat: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "message_id": 10,
        "date": 1_700_000_000,
        "chat": chat,
        "from": {"id": 4242, "first_name": "Budi", "username": "BudiS", "language_code": "id"},
        **extra,
    }


PRIVATE = {"id": 4242, "type": "private"}
DOCUMENT = {"file_id": "d", "file_unique_id": "u", "file_name": "nota.pdf", "file_size": 2048} | {
    "mime_type": "application/pdf"
}


def test_a_telegram_document_as_a_message() -> None:
    msg = TELEGRAM.parse(update(chat_message(PRIVATE, document=DOCUMENT, caption="nota")))
    assert (msg.sender.address, msg.sender.handle, msg.sender.reply_to) == (
        "@budis",
        "BudiS",
        "4242",
    )
    assert (msg.thread.conversation, msg.thread.post, msg.thread.parents) == ("4242", 10, ())
    assert (msg.text, msg.title, msg.language) == ("nota", "nota", "id")
    # Its file_id and type: what a channel that takes staff files fetches it by (getFile).
    assert msg.attachments == (Attachment("document", "nota.pdf", 2048, "d", "application/pdf"),)
    assert msg.signals.person and msg.signals.ignored is None and msg.signals.group is None


@pytest.mark.parametrize(
    "raw, signal, expected",
    [
        (update(chat_message(PRIVATE, text="hi"), "edited_message"), "ignored", "edited"),
        (update(chat_message({"id": -5, "type": "group"}, text="hi")), "group", "group"),
        (update(chat_message(PRIVATE, text="/close ABC234"), staff=True), "command", "/close"),
        (update(chat_message(PRIVATE, new_chat_members=[{"id": 5}])), "service", True),
        (b"not json", "ignored", "invalid-update"),
    ],
    ids=["edit", "group", "command", "service", "invalid"],
)
def test_what_telegram_says_is_carried_as_signals(raw: bytes, signal: str, expected: Any) -> None:
    value = getattr(TELEGRAM.parse(raw).signals, signal)
    assert (value[0] if isinstance(value, tuple) else value) == expected


def test_every_channel_type_names_its_config_wire_and_adapter() -> None:
    for kind, entry in CHANNEL_TYPES.items():
        assert get_args(entry.config.model_fields["type"].annotation) == (kind,)
        assert entry.wire.kind == kind
        assert callable(entry.adapter) and callable(entry.profile)
    assert template_parts() == ("telegram",)
