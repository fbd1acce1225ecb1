"""The reply message: RFC 3834 headers, threading headers, and no header injection."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, message_from_string, policy

import pytest

from responder.wire.email.addresses import address_pairs
from responder.wire.email.compose import ReplySpec, build_reply, new_message_id


def spec(**overrides: object) -> ReplySpec:
    values: dict[str, object] = {
        "from_addr": "support@toko-contoh.id",
        "from_name": "Toko Contoh",
        "to_addr": "budi@example.com",
        "to_name": "Budi",
        "subject": "Re: Pesanan [#ABC234]",
        "text": "Halo Budi",
        "html": "<p>Halo Budi</p>",
        "message_id": "responder.abc@toko-contoh.id",
        "date": datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
        "parent_id": "order-1@example.com",
        "parent_references": (),
        "parent_in_reply_to": (),
    }
    values.update(overrides)
    return ReplySpec(**values)  # type: ignore[arg-type]


def parse(raw: bytes):  # type: ignore[no-untyped-def]
    return message_from_bytes(raw, policy=policy.default)


def test_reply_carries_rfc_3834_and_threading_headers() -> None:
    msg = parse(build_reply(spec(parent_references=("a@x", "b@x"))))
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert msg["In-Reply-To"] == "<order-1@example.com>"
    assert msg["References"] == "<a@x> <b@x> <order-1@example.com>"
    assert msg["Message-ID"] == "<responder.abc@toko-contoh.id>"
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_charset() for p in msg.iter_parts()] == ["utf-8", "utf-8"]


def test_references_fall_back_to_in_reply_to_and_stay_bounded() -> None:
    msg = parse(build_reply(spec(parent_in_reply_to=("p@x",))))
    assert msg["References"] == "<p@x> <order-1@example.com>"
    many = tuple(f"id{n}@x" for n in range(50))
    msg = parse(build_reply(spec(parent_references=many)))
    assert len(msg["References"].split()) == 20
    assert msg["References"].split()[-1] == "<order-1@example.com>"


def test_no_parent_means_no_threading_headers() -> None:
    msg = parse(build_reply(spec(parent_id=None)))
    assert msg["In-Reply-To"] is None and msg["References"] is None


@pytest.mark.parametrize(
    "field, value",
    [
        ("subject", "Hi\r\nBcc: victim@evil.test"),
        ("subject", "Hi\nBcc: victim@evil.test"),
        ("to_name", "Budi\r\nBcc: victim@evil.test"),
        ("from_name", "Toko\rBcc: victim@evil.test"),
        ("subject", "Hi\u2028Bcc: victim@evil.test"),
    ],
)
def test_customer_text_cannot_inject_a_header(field: str, value: str) -> None:
    raw = build_reply(spec(**{field: value}))
    msg = parse(raw)
    assert msg["Bcc"] is None
    assert b"\r\nBcc:" not in raw and b"\nBcc:" not in raw


@pytest.mark.parametrize("bad", ["a b@x", "<evil>@x", "x\r\nBcc: y@z", "", "a>b@x"])
def test_malformed_parent_ids_are_left_out(bad: str) -> None:
    raw = build_reply(spec(parent_id=bad, parent_references=(bad,)))
    msg = parse(raw)
    assert msg["In-Reply-To"] is None
    assert b"Bcc" not in raw


def test_message_ids_are_unique_and_on_our_domain() -> None:
    ids = {new_message_id("toko-contoh.id") for _ in range(1000)}
    assert len(ids) == 1000
    assert all(i.startswith("responder.") and i.endswith("@toko-contoh.id") for i in ids)


def test_bodies_and_non_ascii_headers_round_trip_exactly() -> None:
    text = (
        "Halo Ni Luh Ayu 🌺,\n\nTerima kasih — pesanan Anda sudah kami terima.  \n"
        ".a line starting with a dot\nFrom the start of a line\n" + "panjang " * 40 + "\n"
    )
    html = "<p>Halo <b>Ni Luh Ayu</b> 🌺</p>\n<p>" + "x" * 300 + "</p>\n"
    raw = build_reply(
        spec(
            text=text,
            html=html,
            subject="Re: Pesanan saya belum sampai — mohon dicek 🙏 " + "panjang " * 20,
            to_name="Ni Luh Ayu Ṡ",
            from_name='Toko Contoh "Batik" & Co',
        )
    )
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF only, as SMTP wants (RFC 5321 2.3.8)
    msg = parse(raw)
    # On the wire every line ends in CRLF; a mail client shows the same lines.
    assert msg.get_body(preferencelist=("plain",)).get_content().replace("\r\n", "\n") == text
    assert msg.get_body(preferencelist=("html",)).get_content().replace("\r\n", "\n") == html
    assert msg["Subject"].startswith("Re: Pesanan saya belum sampai — mohon dicek 🙏 panjang")
    assert msg["To"].addresses[0].display_name == "Ni Luh Ayu Ṡ"
    assert msg["From"].addresses[0].display_name == 'Toko Contoh "Batik" & Co'
    assert msg["From"].addresses[0].addr_spec == "support@toko-contoh.id"


def test_an_idn_domain_goes_as_a_labels_and_a_non_ascii_name_as_encoded_words() -> None:
    """RFC 5891 section 4.4 and RFC 2047: the reply stays ASCII, so any server can take it."""
    raw = build_reply(spec(to_addr="kunde@bücher.example", to_name="Müller"))
    assert raw.isascii()
    [to] = [line for line in raw.split(b"\r\n") if line.startswith(b"To:")]
    assert to.endswith(b" <kunde@xn--bcher-kva.example>")
    assert b"=?utf-8?" in to
    msg = parse(raw)
    assert msg["To"].addresses[0].display_name == "Müller"
    assert msg["To"].addresses[0].addr_spec == "kunde@xn--bcher-kva.example"


def test_our_own_idn_address_is_written_with_a_labels_too() -> None:
    raw = build_reply(spec(from_addr="layanan@toko-büro.example"))
    msg = parse(raw)
    assert msg["From"].addresses[0].addr_spec == "layanan@xn--toko-bro-c6a.example"
    assert msg["X-Loop"] == "layanan@xn--toko-bro-c6a.example"
    assert raw.isascii()


def test_a_utf8_local_part_is_written_as_utf8() -> None:
    """RFC 6532 section 3.2: a UTF-8 mailbox name has no ASCII form; such a reply needs
    SMTPUTF8, which the SMTP sender checks."""
    raw = build_reply(spec(to_addr="josé@bücher.example", to_name="José"))
    assert "To: José <josé@bücher.example>".encode() not in raw  # the name is encoded
    msg = message_from_string(raw.decode("utf-8"), policy=policy.SMTPUTF8)
    assert msg["To"].addresses[0].addr_spec == "josé@bücher.example"
    assert msg["To"].addresses[0].display_name == "José"
    assert not raw.isascii()


def test_a_long_non_ascii_name_is_folded_into_short_encoded_words() -> None:
    raw = build_reply(spec(to_name="王小明 " * 30, to_addr="wang@例子.example"))
    head = raw.split(b"\r\n\r\n")[0].decode("ascii")
    to = head[head.index("\r\nTo: ") + 2 : head.index("\r\nSubject: ")].split("\r\n")
    assert len(to) > 2 and all(len(line) <= 78 for line in to)  # RFC 5322 section 2.1.1
    # Read back as RFC 2047 section 6.2 says (the space between adjacent encoded words is
    # not text), which policy.default's address parser does not do.
    [(name, addr)] = address_pairs(head[head.index("\r\nTo: ") + 6 :].split("\r\nSubject:")[0])
    assert name == ("王小明 " * 25).strip()  # capped at 100 characters
    assert addr == "wang@例子.example"


@pytest.mark.parametrize(
    "name",
    [
        "Müller\r\nBcc: victim@evil.test",
        "Müller\nBcc: victim@evil.test",
        "Müller\u2028Bcc: victim@evil.test",
        "Müller\x85Bcc: victim@evil.test",
        "=?utf-8?q?M=C3=BCller=0D=0ABcc:_victim@evil.test?=",
    ],
)
def test_a_non_ascii_display_name_cannot_inject_a_header(name: str) -> None:
    raw = build_reply(spec(to_name=name, to_addr="kunde@bücher.example"))
    assert parse(raw)["Bcc"] is None
    assert b"\r\nBcc:" not in raw and b"\nBcc:" not in raw


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("Budi", "To: Budi <budi@example.com>"),
        ("Santoso, Budi", 'To: "Santoso, Budi" <budi@example.com>'),
        ('Budi "B" \\ S.', 'To: "Budi \\"B\\" \\\\ S." <budi@example.com>'),
        ("", "To: budi@example.com"),
    ],
)
def test_ascii_names_are_quoted_where_rfc_5322_asks(name: str, header: str) -> None:
    raw = build_reply(spec(to_name=name))
    assert header.encode() + b"\r\n" in raw
    assert parse(raw)["To"].addresses[0].display_name == name


@pytest.mark.parametrize("bad", ["budi@example.com\r\nBcc: x@evil.test", "a>b@x", "a b@x"])
def test_an_unsafe_address_is_refused_rather_than_written(bad: str) -> None:
    with pytest.raises(ValueError, match="unsafe address"):
        build_reply(spec(to_addr=bad))
