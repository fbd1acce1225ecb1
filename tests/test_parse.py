"""Parsing inbound mail: decoding, text extraction, header safety and never raising."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from responder.wire.email.addresses import ascii_address
from responder.wire.email.mime_parts import NAME_LIMIT, TEXT_LIMIT
from responder.wire.email.parse import (
    SUBJECT_LIMIT,
    addr_spec,
    parse_message,
    sanitize_header_text,
)
from responder.wire.email.parsed_mail import ParsedMail

CORPUS = Path(__file__).parent / "corpus"
ALL_FILES = sorted(CORPUS.glob("*/*.eml"))


def corpus(name: str) -> ParsedMail:
    return parse_message((CORPUS / "human" / name).read_bytes())


def message(*headers: str, body: str = "Halo kak.") -> ParsedMail:
    return parse_message(("\r\n".join(headers) + "\r\n\r\n" + body).encode("utf-8"))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("iso-8859-1-quoted-printable.eml", "Olá! Saya ingin menukar sepatu"),
        ("iso-8859-1-quoted-printable.eml", "Gracias, José Ramírez – España"),
        ("windows-1252-smart-quotes.eml", "“Kemeja Batik Parang”, apakah harganya bisa € 12"),
        ("windows-1252-smart-quotes.eml", "Saya’d like to know – terima kasih."),
        ("outlook-multipart-alternative-1252.eml", "Harga € 10 per unit sudah cocok – kami"),
        ("utf8-base64-emoji.eml", "Terima kasih kak 🙏 paketnya sudah sampai 📦"),
        ("latin1-mislabeled-utf8.eml", "Kami dari Café Kenanga – Jl. Sudirman 10"),
        ("bad-charset-name.eml", "ke Bekasi? Terima kasih 🙂"),
        ("id-order-not-arrived.eml", "Halo, pesanan saya belum sampai"),
    ],
)
def test_body_text_is_decoded_per_charset(name: str, expected: str) -> None:
    assert expected in corpus(name).text


@pytest.mark.parametrize(
    ("name", "subject", "from_name"),
    [
        (
            "encoded-word-subject-id.eml",
            "Pertanyaan: ongkos kirim ke Makassar – pesanan #1109",
            "Ni Luh Putu Ayu",
        ),
        (
            "iso-8859-1-quoted-printable.eml",
            "Tukar ukuran sepatu – pesanan #1103",
            "José Ramírez",
        ),
        ("windows-1252-smart-quotes.eml", "Harga grosir “Kemeja Batik”", "Dian Puspita"),
        ("utf8-raw-8bit-headers.eml", "Pesanan — ukuran salah 👟", "Ayu Larasati 🌸"),
        ("garbage-in-header.eml", "Tanya garansi", "Hadi Kurniawan"),
    ],
)
def test_headers_are_decoded_to_unicode(name: str, subject: str, from_name: str) -> None:
    mail = corpus(name)
    assert (mail.subject, mail.from_name) == (subject, from_name)


def test_html_only_mail_yields_readable_text() -> None:
    text = corpus("html-only.eml").text
    assert text.startswith("Halo Toko Contoh,\n\nSaya sudah transfer Rp 250.000")
    assert "pesanan #1105 & #1106.\nBukti transfer terlampir — mohon dicek." in text
    assert text.endswith("\n\nSalam,\nWahyu")
    for leftover in ("<", "&amp;", "&nbsp;", "tracking", "color: #333"):
        assert leftover not in text


def test_html_tags_are_not_mistaken_for_the_end_of_a_head_that_never_closes() -> None:
    mail = message(
        "From: a@example.com",
        "Content-Type: text/html; charset=utf-8",
        body="<html><head><title>x</title><body><p>Masih kelihatan</p></body>",
    )
    assert mail.text == "Masih kelihatan"


def test_plain_part_is_preferred_over_html() -> None:
    text = corpus("en-refund-question.eml").text
    assert text.startswith("Hello,\n\nThe teapot I ordered (order #1102)")
    assert "<p>" not in text


def test_forwarded_attachment_is_not_taken_as_the_customers_text() -> None:
    text = corpus("forwarded-bounce-from-customer.eml").text
    assert text == (
        "Halo, email saya ke alamat admin kalian ditolak (lihat lampiran). "
        "Alamat yang benar yang mana?"
    )


def test_encoded_crlf_cannot_reach_subject_or_display_name() -> None:
    mail = corpus("subject-crlf-injection.eml")
    assert mail.subject == "Hi Bcc: victim@evil.test"
    assert mail.from_name == "Joko Bcc: victim@evil.test"
    assert mail.from_addr == "joko@example.net"
    assert mail.reply_to == ()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("a\r\nBcc: x@evil.test", "a Bcc: x@evil.test"),
        ("a\rb\nc", "a b c"),
        ("line\u2028separator\u2029paragraph", "line separator paragraph"),
        ("next\x85line", "next line"),
        ("bell\x07 and escape\x1b[31m", "bell and escape [31m"),
        ("tab\there", "tab here"),
        ("  many    spaces  ", "many spaces"),
        ("\ud800lone surrogate", "\ufffdlone surrogate"),
        ("Pesanan 👟 ukuran", "Pesanan 👟 ukuran"),
    ],
)
def test_sanitize_header_text(raw: str, expected: str) -> None:
    assert sanitize_header_text(raw, 200) == expected


def test_sanitize_header_text_caps_length_without_a_trailing_space() -> None:
    assert sanitize_header_text("x" * 500, 200) == "x" * 200
    assert sanitize_header_text("abc def", 4) == "abc"


def test_long_subject_and_name_are_capped() -> None:
    mail = message(f"From: {'N' * 300} <n@example.com>", f"Subject: {'s' * 900}")
    assert len(mail.subject) == SUBJECT_LIMIT
    assert len(mail.from_name) == NAME_LIMIT


def test_missing_headers_become_empty_values() -> None:
    assert corpus("missing-message-id.eml").message_id is None
    assert corpus("missing-date.eml").date is None
    assert corpus("missing-subject.eml").subject == ""
    mail = message("Subject: x")
    assert (mail.from_addr, mail.from_name, mail.reply_to) == (None, "", ())
    assert (mail.return_path, mail.in_reply_to, mail.references) == (None, (), ())


def test_message_ids_lose_their_angle_brackets() -> None:
    mail = corpus("thread-reply.eml")
    assert mail.message_id == "CAL8sW3p0y+Rn2bCdE3fGhI4jKl@mail.gmail.com"
    assert mail.in_reply_to == ("responder.5f0c2e9a1b7d4c3e8a6f0b12@toko-contoh.id",)
    assert mail.references == (
        "CAL8sW3p0x+Qm1aBcD2eFgH3iJk@mail.gmail.com",
        "responder.5f0c2e9a1b7d4c3e8a6f0b12@toko-contoh.id",
    )


def test_old_style_in_reply_to_with_a_comment() -> None:
    mail = message('In-Reply-To: <a1@example.com> (from "Budi")', "Message-ID:   ")
    assert mail.in_reply_to == ("a1@example.com",)
    assert mail.message_id is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<>", ""),
        ("< >", ""),
        ("<Budi@Example.COM>", "budi@example.com"),
        ("<MAILER-DAEMON>", "mailer-daemon"),
    ],
)
def test_return_path(value: str, expected: str) -> None:
    assert message(f"Return-Path: {value}").return_path == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Mon, 10 Jun 2024 08:12:33 +0700", datetime(2024, 6, 10, 1, 12, 33, tzinfo=UTC)),
        ("10 Jun 2024 08:12 -0000", datetime(2024, 6, 10, 8, 12, tzinfo=UTC)),
        ("Senin, 32 Juni 2024 25:61:00 WIB", None),
        ("yesterday", None),
        ("Mon, 10 Jun 99999 08:12:33 +0700", None),
    ],
)
def test_date(value: str, expected: datetime | None) -> None:
    assert message(f"Date: {value}").date == expected


def test_date_keeps_the_senders_zone() -> None:
    date = corpus("id-order-not-arrived.eml").date
    assert date is not None and date.utcoffset() == timedelta(hours=7)
    assert date.tzinfo == timezone(timedelta(hours=7))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Budi <Budi@Example.COM>", "budi@example.com"),
        ("budi@example.com (Budi)", "budi@example.com"),
        ('"Santoso, Budi" <budi@example.com>', "budi@example.com"),
        ("=?utf-8?q?Santoso,_Budi?= <budi@example.com>", "budi@example.com"),
        ("a@example.com, b@example.net", None),
        ("root", None),
        ("undisclosed-recipients:;", None),
        ("Budi <budi@>", None),
        ("<@example.com>", None),
        ("budi@example..com", None),
        ("budi@example.com\r\nBcc: x@evil.test", None),
        ("budi@example.com>evil@x.test", None),
        ("", None),
    ],
)
def test_addr_spec(value: str, expected: str | None) -> None:
    assert addr_spec(value) == expected


def test_reply_to_addresses_are_collected_lowercased() -> None:
    assert corpus("reply-to-work-address.eml").reply_to == ("dimas@pt-sejahtera.example",)
    mail = message(
        "Reply-To: A <A@Example.com>, nonsense, b@example.net", "Reply-To: a@example.com"
    )
    assert mail.reply_to == ("a@example.com", "b@example.net")


def test_text_is_capped() -> None:
    mail = message("From: a@example.com", body="kata " * 60_000)
    assert 0 < len(mail.text.encode("utf-8")) <= TEXT_LIMIT


def test_cutting_a_huge_body_does_not_garble_its_last_character() -> None:
    mail = message("From: a@example.com", "Content-Type: text/plain", body="é" + "🙏" * 120_000)
    assert mail.text.startswith("é🙏🙏") and set(mail.text) == {"é", "🙏"}


def test_multipart_without_a_boundary_still_yields_the_text() -> None:
    mail = message(
        "From: a@example.com", "Content-Type: multipart/mixed", body="Halo kak, ada stok?"
    )
    assert mail.text == "Halo kak, ada stok?"


def test_crlf_and_lf_files_parse_alike() -> None:
    for path in ALL_FILES:
        raw = path.read_bytes().replace(b"\r\n", b"\n")
        lf, crlf = parse_message(raw), parse_message(raw.replace(b"\n", b"\r\n"))
        fields = ("message_id", "subject", "from_addr", "from_name", "return_path", "text")
        assert [getattr(lf, f) for f in fields] == [getattr(crlf, f) for f in fields], path.name


def assert_sane(mail: ParsedMail) -> None:
    assert isinstance(mail, ParsedMail)
    for value in (mail.subject, mail.from_name):
        assert "\r" not in value and "\n" not in value
    assert len(mail.subject) <= SUBJECT_LIMIT and len(mail.from_name) <= NAME_LIMIT
    assert len(mail.text.encode("utf-8")) <= TEXT_LIMIT
    for address in (mail.from_addr, *mail.reply_to):
        assert address is None or ("@" in address and address == address.lower())
        assert address is None or not any(c.isspace() for c in address)


def fuzz_inputs() -> list[bytes]:
    rng = random.Random(1)
    sources = [p.read_bytes() for p in ALL_FILES]
    pieces = [
        b"From: ",
        b"Subject: =?utf-8?q?",
        b"=?bogus?b?",
        b"?=",
        b"Content-Type: multipart/mixed; boundary=x\r\n",
        b"--x\r\n",
        b"Content-Transfer-Encoding: base64\r\n",
        b"charset=",
        b"<>",
        b"\r\n",
        b"\n\n",
        b"\xff\xfe",
        b"\x00",
        b"@",
        b"(",
        b'"',
        b"Date: ",
        b"Return-Path: ",
    ]
    inputs: list[bytes] = []
    for _ in range(1000):
        inputs.append(rng.randbytes(rng.randint(0, 600)))
    for _ in range(1000):
        inputs.append(b"".join(rng.choice(pieces) for _ in range(rng.randint(1, 60))))
    for _ in range(1500):
        data = bytearray(rng.choice(sources))
        for _ in range(rng.randint(0, 10)):
            at = rng.randrange(len(data))
            data[at : at + rng.randint(0, 30)] = rng.randbytes(rng.randint(0, 30))
        inputs.append(bytes(data[: rng.randint(0, len(data))]))
    return inputs


def test_parse_never_raises_on_garbage_or_truncated_mail() -> None:
    for raw in fuzz_inputs():
        assert_sane(parse_message(raw))


def test_parse_survives_deeply_nested_multipart() -> None:
    depth = 2000
    head = "".join(
        f"Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n" for i in range(depth)
    )
    mail = parse_message(("From: a@example.com\r\n" + head + "\r\nhalo\r\n").encode())
    assert_sane(mail)
    assert mail.from_addr == "a@example.com"


@pytest.mark.parametrize(
    "header",
    [
        b"Subject: " + b"=?utf-8?q?a?= " * 50_000,
        b"Content-Type: multipart/mixed; boundary=x" + b";a=b" * 50_000,
        b"Reply-To: " + b"a@example.com, " * 50_000,
    ],
    ids=["encoded-words", "content-type-parameters", "reply-to-addresses"],
)
def test_huge_crafted_headers_do_not_stall_parsing(header: bytes) -> None:
    started = time.monotonic()
    mail = parse_message(b"From: Budi <budi@example.com>\r\n" + header + b"\r\n\r\nHalo kak.\r\n")
    assert time.monotonic() - started < 2.0  # unbounded, these take minutes
    assert mail.from_addr == "budi@example.com"


@pytest.mark.parametrize(
    "sender",
    [
        "From: =?utf-8?q?M=C3=BCller?= <kunde@bücher.example>",  # RFC 6532: raw UTF-8
        "From: Müller <kunde@xn--bcher-kva.example>",  # the A-label form (RFC 5891)
        "From: Müller <Kunde@BÜCHER.Example>",
        "From: Müller <kunde@bu\u0308cher.example>",  # decomposed ü: compared in NFC
        "From: Müller <kunde@XN--BCHER-KVA.example>",
    ],
)
def test_an_idn_sender_is_read_in_one_unicode_form(sender: str) -> None:
    """RFC 6530-6532: one customer, however the domain was written."""
    mail = message(sender, "Reply-To: kunde@xn--bcher-kva.example")
    assert mail.from_addr == "kunde@bücher.example"
    assert mail.from_name == "Müller"
    assert mail.reply_to == ("kunde@bücher.example",)


def test_a_utf8_local_part_is_kept() -> None:
    assert message("From: <josé@example.com>").from_addr == "josé@example.com"
    assert message("From: José <JOSÉ@xn--bcher-kva.example>").from_addr == "josé@bücher.example"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # IDNA2008, not IDNA2003: faß.de is xn--fa-hia.de, not the other domain fass.de.
        ("k@xn--fa-hia.de", "k@faß.de"),
        ("k@faß.de", "k@faß.de"),
        ("k@fass.de", "k@fass.de"),
        # Not canonical A-labels: kept as they came, still an ASCII domain DNS can hold.
        ("k@xn--bcher-kva-.example", None),
        ("k@xn--abc.example", "k@xn--abc.example"),
        ("k@xn--99999999999.example", "k@xn--99999999999.example"),
        ("k@xn--a-kfa.example", "k@xn--a-kfa.example"),  # decodes to an upper-case label
        # Too long once encoded for DNS (RFC 1035 section 2.3.4: 63 octets a label).
        ("k@" + "ü" * 60 + ".example", None),
        ("k@ü.example\r\nBcc: x@evil.test", None),
        ("k@ü\u2028.example", None),
    ],
)
def test_idn_domains(value: str, expected: str | None) -> None:
    assert addr_spec(value) == expected


@pytest.mark.parametrize(
    ("addr", "expected"),
    [
        ("kunde@bücher.example", "kunde@xn--bcher-kva.example"),
        ("k@faß.de", "k@xn--fa-hia.de"),
        ("wang@例子.example", "wang@xn--fsqu00a.example"),
        ("budi@example.com", "budi@example.com"),
        ("josé@example.com", None),  # RFC 6531: only SMTPUTF8 can carry it
        ("", ""),  # the null reverse-path
    ],
)
def test_ascii_address(addr: str, expected: str | None) -> None:
    assert ascii_address(addr) == expected
