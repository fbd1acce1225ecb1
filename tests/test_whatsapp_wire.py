"""WhatsApp's wire: Meta's webhook bodies in, one record per customer message, the conversation
model out of each; replies as Graph API requests within WhatsApp's limits."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from responder.domain.message import Message
from responder.wire.telegram.desk import DESK
from responder.wire.whatsapp.envelope import EnvelopeError, record, split
from responder.wire.whatsapp.inbound import parse
from responder.wire.whatsapp.outbound import (
    INTERACTIVE_BODY,
    TEXT_LIMIT,
    Outgoing,
    build,
    split_text,
)
from responder.wire.whatsapp.text import from_chat_html

JSON = dict[str, Any]
NUMBER_ID = "106540352242922"
METADATA = {"display_phone_number": "6281100001111", "phone_number_id": NUMBER_ID}
CUSTOMER = "6281234567890"
CONTACT = {"profile": {"name": "Budi Santoso"}, "wa_id": CUSTOMER}
PLACE = {"latitude": -6.2, "longitude": 106.8, "name": "Toko", "address": "Jl. Sudirman"}
PHONES = [{"phone": "+62 812 555", "type": "CELL"}]
BUTTON_REPLY = {"type": "button_reply", "button_reply": {"id": "csat:7:r5", "title": "Puas sekali"}}
LIST_REPLY = {
    "type": "list_reply",
    "list_reply": {"id": "csat:7:r2", "title": "2", "description": "Kurang"},
}


def webhook(messages: Sequence[JSON] = (), statuses: Sequence[JSON] = ()) -> bytes:
    value: dict[str, Any] = {"messaging_product": "whatsapp", "metadata": METADATA}
    if messages:
        value["contacts"] = [CONTACT]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(body).encode()


def msg(kind: str, n: int = 1, **content: Any) -> dict[str, Any]:
    return {
        "from": CUSTOMER,
        "id": f"wamid.TEST{n}",
        "timestamp": "1764720000",
        "type": kind,
        **content,
    }


def one(message: JSON) -> Message:
    return parse(record(METADATA, CONTACT, message))


def test_each_message_of_a_notification_is_recorded_on_its_own_with_its_wamid() -> None:
    body = webhook([msg("text", 1, text={"body": "Halo"}), msg("text", 2, text={"body": "Lagi"})])
    note = split(body)
    assert [m.wamid for m in note.messages] == ["wamid.TEST1", "wamid.TEST2"]
    assert all(m.phone_number_id == NUMBER_ID for m in note.messages)
    # A retry of the same notification records the same bytes: the wamid dedupes, nothing differs.
    assert [m.raw for m in split(body).messages] == [m.raw for m in note.messages]
    assert parse(note.messages[1].raw).text == "Lagi"


def test_statuses_carry_the_wamid_state_and_error_code() -> None:
    failed = {
        "id": "wamid.OURS",
        "status": "failed",
        "timestamp": "1764720100",
        "recipient_id": CUSTOMER,
        "errors": [{"code": 131047, "title": "Re-engagement message"}],
    }
    note = split(webhook(statuses=[failed, {"id": "wamid.X", "status": "read"}]))
    assert note.messages == ()
    first, second = note.statuses
    assert (first.wamid, first.status, first.error_code) == ("wamid.OURS", "failed", 131047)
    assert first.error_title == "Re-engagement message"
    assert first.timestamp == 1764720100
    assert (second.status, second.error_code) == ("read", None)


@pytest.mark.parametrize(
    ("body", "why"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "not a WhatsApp notification"),
        (json.dumps({"object": "page", "entry": []}).encode(), "'page'"),
    ],
)
def test_a_body_that_is_no_whatsapp_notification_is_refused_with_its_reason(
    body: bytes, why: str
) -> None:
    with pytest.raises(EnvelopeError, match=why):
        split(body)


def test_parts_it_cannot_use_are_skipped_and_named_not_fatal() -> None:
    doc = json.loads(webhook([msg("text", text={"body": "ok"})]))
    changes = doc["entry"][0]["changes"]
    changes.append({"field": "account_update", "value": {}})
    changes[0]["value"]["messages"].append({"from": CUSTOMER, "type": "text"})  # no id
    note = split(json.dumps(doc).encode())
    assert [m.wamid for m in note.messages] == ["wamid.TEST1"]
    assert note.skipped == ("a message without an id", "a change of field 'account_update'")


def test_a_text_message_is_a_person_writing_in_their_own_conversation() -> None:
    m = one(msg("text", text={"body": "Pesanan saya belum sampai\nMohon dicek"}))
    assert m.sender.address == "+6281234567890"  # E.164, as VIP lists name phones
    assert m.sender.reply_to == CUSTOMER
    assert m.sender.name == "Budi Santoso"
    assert m.sender.actor == "Budi Santoso (wa:+6281234567890)"
    assert m.thread.conversation == CUSTOMER
    assert m.thread.message_id == "wamid.TEST1"
    assert m.title == "Pesanan saya belum sampai"
    assert m.language is None  # WhatsApp says nothing of it: detected from the words
    assert m.signals.person and m.signals.ignored is None
    # The window is counted from the message's own timestamp, not from when we got it.
    assert m.date == datetime.fromtimestamp(1764720000, UTC)


def test_a_reply_to_an_earlier_message_names_it_as_its_parent() -> None:
    m = one(msg("text", text={"body": "yang ini"}, context={"from": "628110", "id": "wamid.OLD"}))
    assert m.thread.parents == ("wamid.OLD",)


@pytest.mark.parametrize(
    ("message", "text", "title", "attachment"),
    [
        (
            msg(
                "image",
                image={"id": "m1", "mime_type": "image/jpeg", "sha256": "x", "caption": "rusak"},
            ),
            "rusak",
            "rusak",
            ("image", ""),
        ),
        (msg("image", image={"id": "m1", "mime_type": "image/jpeg"}), "", "[photo]", ("image", "")),
        (
            msg(
                "document",
                document={"id": "m2", "filename": "invoice.pdf", "mime_type": "application/pdf"},
            ),
            "",
            "[document]",
            ("document", "invoice.pdf"),
        ),
        (msg("audio", audio={"id": "m3", "voice": True}), "", "[voice note]", ("voice", "")),
        (msg("video", video={"id": "m4"}), "", "[video]", ("video", "")),
        (msg("sticker", sticker={"id": "m5", "animated": False}), "", "[sticker]", ("sticker", "")),
        (
            msg(
                "location",
                location={
                    "latitude": -6.2,
                    "longitude": 106.8,
                    "name": "Toko",
                    "address": "Jl. Sudirman",
                },
            ),
            "Toko, Jl. Sudirman (-6.2, 106.8)",
            "Toko, Jl. Sudirman (-6.2, 106.8)",
            ("location", ""),
        ),
        (
            msg(
                "contacts",
                contacts=[
                    {"name": {"formatted_name": "Sari"}, "phones": [{"phone": "+62 812 555"}]}
                ],
            ),
            "Sari +62 812 555",
            "Sari +62 812 555",
            ("contacts", ""),
        ),
        # WhatsApp could not pass the message on (131051): a person still wrote, so it is a
        # message that gets its acknowledgement, not a stuck channel.
        (
            msg("unsupported", errors=[{"code": 131051, "title": "Message type unknown"}]),
            "",
            "[a message WhatsApp cannot pass on]",
            ("unsupported", ""),
        ),
        (msg("some_future_type"), "", "[some_future_type]", ("some_future_type", "")),
    ],
)
def test_media_and_other_types_open_a_ticket_staff_can_read(
    message: dict[str, Any], text: str, title: str, attachment: tuple[str, str]
) -> None:
    m = one(message)
    assert m.signals.ignored is None
    assert (m.text, m.title) == (text, title)
    assert [(a.kind, a.name) for a in m.attachments] == [attachment]


@pytest.mark.parametrize(
    ("message", "text", "data"),
    [
        (
            msg(
                "interactive",
                interactive={
                    "type": "button_reply",
                    "button_reply": {"id": "csat:7:r5", "title": "Puas sekali"},
                },
            ),
            "Puas sekali",
            "csat:7:r5",
        ),
        (
            msg(
                "interactive",
                interactive={
                    "type": "list_reply",
                    "list_reply": {"id": "csat:7:r2", "title": "2", "description": "Kurang"},
                },
            ),
            "2\nKurang",
            "csat:7:r2",
        ),
        (
            msg("button", button={"payload": "promo-stop", "text": "Berhenti"}),
            "Berhenti",
            "promo-stop",
        ),
    ],
)
def test_a_button_or_list_choice_is_a_press_with_its_words(
    message: dict[str, Any], text: str, data: str
) -> None:
    m = one(message)
    assert m.text == text
    assert m.signals.press is not None and m.signals.press.data == data


@pytest.mark.parametrize(
    ("message", "rule"),
    [
        (msg("reaction", reaction={"message_id": "wamid.OURS", "emoji": "👍"}), "reaction"),
        (msg("system", system={"body": "changed number", "type": "user_changed_number"}), "system"),
        ({"id": "wamid.X", "type": "text", "text": {"body": "who?"}}, "no-sender"),
    ],
)
def test_what_nobody_wrote_to_us_is_not_answered(message: dict[str, Any], rule: str) -> None:
    m = one(message)
    assert m.signals.ignored is not None and m.signals.ignored[0] == rule


@pytest.mark.parametrize("raw", [b"", b"{", b'{"message": 3}', b'{"metadata": {}}', b"\xff\xfe"])
def test_an_unreadable_record_is_ignored_never_raised(raw: bytes) -> None:
    m = parse(raw)
    assert m.signals.ignored == ("invalid-update", "not a readable WhatsApp message")


def test_a_first_contact_asks_for_the_welcome_like_telegram_start() -> None:
    assert one(msg("request_welcome")).signals.command == "/start"


def test_a_text_reply_is_one_request_quoting_the_customers_message() -> None:
    out = Outgoing.from_bytes(
        build(CUSTOMER, "Terima kasih, tiket #K7Q2XM", context="wamid.IN").to_bytes()
    )
    (request,) = out.requests
    assert request["messaging_product"] == "whatsapp"
    assert (request["to"], request["type"]) == (CUSTOMER, "text")
    assert request["text"] == {"body": "Terima kasih, tiket #K7Q2XM", "preview_url": False}
    assert request["context"] == {"message_id": "wamid.IN"}


def test_long_text_is_split_at_a_paragraph_within_the_limit_and_loses_nothing() -> None:
    paragraph = "Kata " * 700  # 3,500 characters
    text = f"{paragraph.strip()}\n\n{paragraph.strip()}"
    out = build(CUSTOMER, text, context="wamid.IN")
    bodies = [r["text"]["body"] for r in out.requests]
    assert len(bodies) == 2 and all(len(b) <= TEXT_LIMIT for b in bodies)
    assert bodies == [paragraph.strip(), paragraph.strip()]
    # Only the first part quotes the customer's message.
    assert "context" in out.requests[0] and "context" not in out.requests[1]


def test_text_without_spaces_is_cut_at_the_limit() -> None:
    assert [len(p) for p in split_text("x" * 9000, TEXT_LIMIT)] == [4096, 4096, 808]


def test_up_to_three_choices_are_reply_buttons_under_the_text() -> None:
    keyboard = ((("Puas sekali, terima kasih banyak", "csat:1:r5"), ("Biasa", "csat:1:r3")),)
    (request,) = build(CUSTOMER, "Bagaimana layanan kami?", buttons=keyboard).requests
    interactive = request["interactive"]
    assert interactive["type"] == "button"
    assert interactive["body"] == {"text": "Bagaimana layanan kami?"}
    titles = [b["reply"]["title"] for b in interactive["action"]["buttons"]]
    assert titles == ["Puas sekali, terima…", "Biasa"]  # 20 characters at most
    assert [b["reply"]["id"] for b in interactive["action"]["buttons"]] == [
        "csat:1:r5",
        "csat:1:r3",
    ]


def test_more_choices_are_lists_of_ten_at_most_none_dropped() -> None:
    keyboard = tuple(((str(n), f"csat:1:n{n}"),) for n in range(11))  # 0-10
    requests = build(
        CUSTOMER, "Seberapa mungkin Anda merekomendasikan kami?", buttons=keyboard, menu="Pilih"
    ).requests
    assert [r["interactive"]["type"] for r in requests] == ["list", "list"]
    rows = [
        row["id"] for r in requests for row in r["interactive"]["action"]["sections"][0]["rows"]
    ]
    assert rows == [f"csat:1:n{n}" for n in range(11)]
    assert requests[0]["interactive"]["action"]["button"] == "Pilih"


def test_text_over_the_interactive_limit_goes_first_then_the_buttons() -> None:
    text = ("Baris panjang sekali. " * 60).strip()  # over 1,024 characters
    requests = build(CUSTOMER, text, buttons=((("Ya", "a"),),)).requests
    assert [r["type"] for r in requests] == ["text", "interactive"]
    assert len(requests[1]["interactive"]["body"]["text"]) <= INTERACTIVE_BODY


@pytest.mark.parametrize(
    ("markup", "text"),
    [
        ("Nomor tiket Anda: <b>#K7Q2XM</b>.", "Nomor tiket Anda: *#K7Q2XM*."),
        ("<i>Balasan otomatis</i> &amp; <s>lama</s>", "_Balasan otomatis_ & ~lama~"),
        ("Kode: <code>INV-42</code>", "Kode: `INV-42`"),
        ('<a href="https://x.id/s/abc">Isi survei</a>', "Isi survei (https://x.id/s/abc)"),
        ('<a href="https://toko-contoh.id">https://toko-contoh.id</a>', "https://toko-contoh.id"),
        # Customer words were escaped into the markup: they come back as the words, not tags.
        ("Halo &lt;script&gt;alert(1)&lt;/script&gt;,", "Halo <script>alert(1)</script>,"),
        ('<span class="tg-spoiler">rahasia</span>', "rahasia"),
    ],
)
def test_the_chat_wording_becomes_whatsapp_text(markup: str, text: str) -> None:
    assert from_chat_html(markup) == text


def test_staff_see_a_whatsapp_customer_by_name_and_number() -> None:
    head = DESK.head("K7Q2XM", one(msg("text", text={"body": "halo"})), ())
    assert head == "📩 <b>#K7Q2XM</b> · Budi Santoso (+6281234567890)"
