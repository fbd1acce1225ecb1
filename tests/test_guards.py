"""Each machine-mail guard on its own, then the ordered rule set against the real-mail corpus."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from responder.core.guards import GUARDS, Guard, GuardContext, Verdict, check
from responder.wire.email.parse import parse_message
from responder.wire.email.parsed_mail import ParsedMail

CORPUS = Path(__file__).parent / "corpus"
MACHINE = sorted((CORPUS / "machine").glob("*.eml"))
HUMAN = sorted((CORPUS / "human").glob("*.eml"))

CTX = GuardContext(
    own_addresses=frozenset({"support@toko-contoh.id", "cs@toko-contoh.id"}),
    own_domains=frozenset({"toko-contoh.id"}),
)
RULES: dict[str, Guard] = dict(GUARDS)

BASE = {
    "Return-Path": "<budi@example.com>",
    "From": "Budi Santoso <budi@example.com>",
    "To": "support@toko-contoh.id",
    "Subject": "Pesanan #1001 belum sampai",
    "Date": "Mon, 10 Jun 2024 08:00:00 +0700",
    "Message-ID": "<CAB1001@mail.example.com>",
}


def make(headers: dict[str, str | None] | None = None, body: str = "Halo kak.\n") -> ParsedMail:
    """A message: BASE headers overridden by `headers` (None removes one), then `body`."""
    merged: dict[str, str | None] = {**BASE, **(headers or {})}
    lines = [f"{name}: {value}" for name, value in merged.items() if value is not None]
    return parse_message(("\r\n".join(lines) + "\r\n\r\n" + body).encode("utf-8"))


def fires(rule: str, headers: dict[str, str | None], body: str = "Halo kak.\n") -> bool:
    return RULES[rule](make(headers, body), CTX) is not None


def test_rule_names_and_order_are_the_documented_ones() -> None:
    assert [name for name, _ in GUARDS] == [
        "delivery-report",
        "auto-submitted",
        "x-autoreply",
        "auto-response-suppress",
        "provider-autoreply",
        "autoreply-subject",
        "x-loop",
        "own-message-id",
        "own-address",
        "list-headers",
        "list-manager",
        "bulk-markers",
        "precedence",
        "null-return-path",
        "system-sender",
        "bounce-content",
        "system-sender-variant",
        "noreply-sender",
        "missing-sender",
    ]


def test_plain_customer_mail_passes_every_rule() -> None:
    mail = make()
    assert [name for name, guard in GUARDS if guard(mail, CTX)] == []
    assert check(mail, CTX) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("auto-replied", True),
        ("auto-generated", True),
        ("auto-notified", True),
        ("Auto-Replied", True),
        ('auto-replied; owner-email="helpdesk@vendor.example"', True),
        ("auto-replied (vacation)", True),
        ("(robot) auto-generated", True),
        ("   auto-generated   ", True),
        (None, False),
        ("no", False),
        ("No", False),
        ("  NO  ", False),
        ("no (typed by a person)", False),
    ],
)
def test_auto_submitted(value: str | None, expected: bool) -> None:
    assert fires("auto-submitted", {"Auto-Submitted": value}) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("bulk", True),
        ("Bulk", True),
        ("junk", True),
        ("list", True),
        ("auto_reply", True),
        ("BULK (newsletter)", True),
        (None, False),
        ("first-class", False),
        ("normal", False),
        ("urgent", False),
    ],
)
def test_precedence(value: str | None, expected: bool) -> None:
    assert fires("precedence", {"Precedence": value}) is expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"List-Id": "Diskusi UMKM <umkm.lists.example.org>"}, True),
        ({"List-Unsubscribe": "<mailto:unsub@news.example.com>"}, True),
        ({"List-Post": "<mailto:umkm@lists.example.org>"}, True),
        ({"list-help": "<mailto:umkm-request@lists.example.org?subject=help>"}, True),
        ({"List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}, True),
        ({"X-Mailing-List": "users@lists.example.org"}, True),
        ({"Mailing-List": "contact users-help@lists.example.org; run by ezmlm"}, True),
        ({}, False),
        ({"Subject": "List-Id: not a header, only words"}, False),
        ({"X-Mailer": "Mailing List Manager 2.0"}, False),
    ],
)
def test_list_headers(headers: dict[str, str | None], expected: bool) -> None:
    assert fires("list-headers", headers) is expected


def test_list_header_words_in_the_body_do_not_count() -> None:
    assert not fires("list-headers", {}, body="List-Id: <x.example.org>\nHalo.\n")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<>", True),
        ("< >", True),
        ("  <>  ", True),
        (None, False),  # absent: the mail store simply did not record one
        ("<budi@example.com>", False),
        ("budi@example.com", False),
    ],
)
def test_null_return_path(value: str | None, expected: bool) -> None:
    assert fires("null-return-path", {"Return-Path": value}) is expected


REPORT = (
    "--b1\r\nContent-Type: text/plain\r\n\r\nDelivery failed.\r\n"
    "--b1\r\nContent-Type: {kind}\r\n\r\nFinal-Recipient: rfc822; x@example.net\r\n"
    "--b1--\r\n"
)
FORWARDED_BOUNCE = (
    "--f1\r\nContent-Type: text/plain\r\n\r\nEmail saya ditolak, lihat lampiran.\r\n"
    "--f1\r\nContent-Type: message/rfc822\r\n\r\n"
    "From: MAILER-DAEMON@mx.example.net\r\n"
    'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
    + REPORT.format(kind="message/delivery-status")
    + "--f1--\r\n"
)


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        (
            {"Content-Type": 'multipart/report; report-type=delivery-status; boundary="b1"'},
            REPORT.format(kind="message/delivery-status"),
            True,
        ),
        (
            {"Content-Type": "multipart/report; report-type=disposition-notification; boundary=b1"},
            REPORT.format(kind="message/disposition-notification"),
            True,
        ),
        (
            {"Content-Type": 'multipart/mixed; boundary="b1"'},
            REPORT.format(kind="message/delivery-status"),
            True,
        ),
        ({"Content-Type": "message/delivery-status"}, "Action: failed\r\n", True),
        ({"X-Failed-Recipients": "andi@example.net"}, "Mail delivery failed.\r\n", True),
        ({}, "Halo kak.\r\n", False),
        # A customer forwarding a bounce they received is asking us something.
        ({"Content-Type": 'multipart/mixed; boundary="f1"'}, FORWARDED_BOUNCE, False),
    ],
)
def test_delivery_report(headers: dict[str, str | None], body: str, expected: bool) -> None:
    assert fires("delivery-report", {"MIME-Version": "1.0", **headers}, body) is expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"From": "MAILER-DAEMON@mx.example.net"}, True),
        ({"From": "Mail Delivery System <mailer-daemon@googlemail.com>"}, True),
        ({"From": "postmaster@example.net"}, True),
        ({"From": "owner-umkm@lists.example.org"}, True),
        ({"From": "umkm-request@lists.example.org"}, True),
        ({"From": "umkm-bounces@lists.example.org"}, True),
        ({"From": "listserv@lists.example.org"}, True),
        ({"From": "Majordomo@lists.example.net"}, True),
        ({"From": "bounce@news.example.com"}, True),
        ({"Sender": "umkm-bounces@lists.example.org"}, True),
        ({"Return-Path": "<MAILER-DAEMON>"}, True),
        ({"Return-Path": "<bounces+2891234-ab12-x=y.id@em1234.example.com>"}, True),
        ({"Return-Path": "<bounce-mc.us21_1234.55-3a4b@mail241.mcsv.net>"}, True),
        ({"Return-Path": "<umkm-bounces+support=toko-contoh.id@lists.example.org>"}, True),
        ({}, False),
        # Machines use these too, but so do people: alone they are not enough.
        ({"From": "Admin Toko <admin@cv-berkah.example>", "Return-Path": None}, False),
        ({"From": "sysadmin@sekolah.example", "Return-Path": None}, False),
        ({"From": "root@server.example", "Return-Path": None}, False),
        ({"From": "toko-admin@warung.example", "Return-Path": None}, False),
        ({"From": "hostmaster@registrar.example", "Return-Path": None}, False),
        ({"From": "webmaster@warung.example", "Return-Path": None}, False),
        ({"From": "postman.pat@example.com", "Return-Path": None}, False),
        ({"From": "Bouncer Rental <bouncer@example.com>", "Return-Path": None}, False),
        ({"From": "owner@warung.example", "Return-Path": None}, False),
        ({"From": "request@warung.example", "Return-Path": None}, False),
        ({"From": "daemon.tools@example.com", "Return-Path": None}, False),
    ],
)
def test_system_sender(headers: dict[str, str | None], expected: bool) -> None:
    assert fires("system-sender", headers) is expected


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("noreply@bank.example", True),
        ("NoReply@bank.example", True),
        ("no-reply@bank.example", True),
        ("no_reply@bank.example", True),
        ("no.reply@bank.example", True),
        ("do-not-reply@bank.example", True),
        ("do_not_reply@bank.example", True),
        ("donotreply@bank.example", True),
        ("noreply+orders@shop.example", True),
        ("noreply-abc@shop.example", True),
        ("seller.noreply@marketplace.example", True),
        ("replyguy@example.net", False),
        ("reply@example.net", False),
        ("noreplyguy@example.net", False),  # one token that merely starts with "noreply"
        ("notifications@cv-makmur.example", False),  # often a monitored shared mailbox
        ("budi@example.com", False),
    ],
)
def test_noreply_sender(address: str, expected: bool) -> None:
    assert fires("noreply-sender", {"From": f"Someone <{address}>"}) is expected


def test_contact_form_from_noreply_with_the_customer_in_reply_to_is_a_person() -> None:
    form = {"From": "Website <noreply@toko-contoh.example>", "Reply-To": "budi@example.com"}
    assert not fires("noreply-sender", form)
    assert fires("noreply-sender", {**form, "Reply-To": "no-reply@toko-contoh.example"})


def test_noreply_sender_header_counts_too() -> None:
    assert fires("noreply-sender", {"Sender": "DoNotReply@portal.example"})


# bounce-content: a bounce known by what it says and carries when the envelope says nothing
# (a forwarder rewrote Return-Path, or an old MTA never used <>). Two signs, never wording alone.
EXIM_TEXT = (
    "This message was created automatically by mail delivery software.\n\n"
    "A message that you sent could not be delivered to one or more of its\n"
    "recipients. This is a permanent error. The following address(es) failed:\n\n"
    "  dewi@tokobaru.example\n    550 5.1.1 No such user here\n\n"
    "------ This is a copy of the message, including all the headers. ------\n\n"
    "From: Toko Contoh <support@toko-contoh.id>\nSubject: Re: Stok kemeja\n"
)
QMAIL_TEXT = (
    "Hi. This is the qmail-send program at mail.example.net.\n"
    "I'm afraid I wasn't able to deliver your message to the following addresses.\n\n"
    "<lama@example.net>:\nSorry, no mailbox here by that name. (#5.1.1)\n"
)
SMS_GATEWAY_TEXT = (
    "Error: Invalid user address\n\nError message below:\n"
    "550 - Requested action not taken: no such user here\n\nMessage details:\n"
    "  MAIL FROM: support@toko-contoh.id\n  RCPT TO: 6281234567890@vtext.example.com\n"
)
GMAIL_TEXT = (
    "Address not found\n\nYour message wasn't delivered to x@example.net because the address\n"
    "couldn't be found.\n\n----- Original message -----\n\nFrom: support@toko-contoh.id\n"
)
FML_TEXT = (
    "Duplicated Message-ID in <diskusi@ml.example.jp>.\n\n\nOriginal mail as follows:\n\n"
    "   From: Toko Contoh <support@toko-contoh.id>\n"
)
OUTLOOK_REPLY = (
    "Paket saya statusnya undeliverable, mohon dikirim ulang.\n\n"
    "-----Original Message-----\nFrom: Toko Contoh <support@toko-contoh.id>\n"
    "Subject: Pesanan #1190\n\nPesanan Anda sudah dikirim.\n"
)
YAHOO_REPLY = OUTLOOK_REPLY.replace("-----Original Message-----", "----- Original Message -----")
QUOTED_BOUNCE = (
    "Halo, email saya ke sales@ ditolak:\n\n"
    "550 5.1.1 <sales@toko-contoh.id>: Recipient address rejected: User unknown\n\n"
    + "".join(f"> {line}\n" for line in EXIM_TEXT.splitlines())
    + "\nAlamat yang benar apa?\n"
)
GMAIL_FORWARD = (
    "---------- Forwarded message ---------\nFrom: Mail Delivery Subsystem\n\n" + EXIM_TEXT
)
PERSON = {"From": "Relay <budi@forwarder.example>", "Return-Path": "<fwd@forwarder.example>"}


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        # MTA boilerplate opening the text, plus any second sign.
        (
            {**PERSON, "Subject": "Mail delivery failed: returning message to sender"},
            EXIM_TEXT,
            True,
        ),
        ({**PERSON, "Subject": "Halo"}, EXIM_TEXT, True),  # the returned copy
        ({**PERSON, "Subject": "failure notice"}, QMAIL_TEXT, True),
        ({**PERSON, "Subject": "x"}, QMAIL_TEXT, True),  # (#5.1.1): SMTP's own words
        (
            {"From": "post_master@vtext.example.com", "Subject": "Re:Pesanan"},
            SMS_GATEWAY_TEXT,
            True,
        ),
        # A bounce subject and the original message coming back.
        ({**PERSON, "Subject": "Delivery Status Notification (Failure)"}, GMAIL_TEXT, True),
        (
            {**PERSON, "Subject": "Undeliverable Mail"},
            "Unknown user: x@example.net\n\n"
            "Original message follows.\n\nFrom: support@toko-contoh.id\n",
            True,
        ),
        (
            {**PERSON, "Subject": "Unzustellbar: Re: Pesanan"},
            "Diagnoseinformationen:\n\n"
            "Ursprüngliche Nachrichtenkopfzeilen:\n\nFrom: support@toko-contoh.id\n",
            True,
        ),
        # A system-like sender returning the original with an MTA's separator line (fml).
        ({"From": "diskusi-admin@ml.example.jp", "Subject": "Loop Alert"}, FML_TEXT, True),
        (
            {"From": "sysadmin@mmsc.example.net", "Subject": "x"},
            "Error: No valid recipients\n\nOriginal Message:\nFrom: support@toko-contoh.id\n",
            True,
        ),
        # Customers. Bounce wording in their own subject and words is not enough...
        ({"Subject": "Undeliverable parcel?"}, "Status paket saya undeliverable.\n", False),
        (
            {"Subject": "My order could not be delivered"},
            "The courier says the mailbox is full and the recipient unknown.\n",
            False,
        ),
        ({"Subject": "Mail delivery failed to your sales address"}, QUOTED_BOUNCE, False),
        # ...nor an admin@/sysadmin@ address with it, nor with an attached message.
        (
            {"From": "admin@cv-berkah.example", "Subject": "Delivery failed for order #1188"},
            "Status pengiriman: delivery failed, 550 5.1.1?\n",
            False,
        ),
        ({"From": "sysadmin@sekolah.example", "Subject": "Returned mail"}, OUTLOOK_REPLY, False),
        # Mail clients' reply separators are not an MTA's returned copy (case matters).
        ({"Subject": "Delivery failure order #1190"}, OUTLOOK_REPLY, False),
        ({"Subject": "Delivery failure order #1190"}, YAHOO_REPLY, False),
        # A person forwarding a bounce: by the subject, or by the client's forward header.
        ({"Subject": "Fwd: Mail delivery failed: returning message to sender"}, EXIM_TEXT, False),
        ({"Subject": "WG: Unzustellbar: Pesanan"}, EXIM_TEXT, False),
        ({"Subject": "Delivery Status Notification (Failure)"}, GMAIL_FORWARD, False),
        ({}, "Halo kak.\n", False),
    ],
)
def test_bounce_content(headers: dict[str, str | None], body: str, expected: bool) -> None:
    assert fires("bounce-content", headers, body) is expected


def test_bounce_content_counts_an_attached_original_with_a_bounce_subject_only() -> None:
    body = (
        "--j1\r\nContent-Type: message/rfc822\r\n\r\nFrom: support@toko-contoh.id\r\n"
        "Subject: Promo\r\n\r\nHalo.\r\n--j1--\r\n"
    )
    mime = {"MIME-Version": "1.0", "Content-Type": 'multipart/mixed; boundary="j1"'}
    complaint = {**mime, "From": "staff@hotmail.example"}
    assert fires(
        "bounce-content", {**complaint, "Subject": "complaint about message from 192.0.2.10"}, body
    )
    assert not fires(
        "bounce-content", {**complaint, "Subject": "complaint about message from you"}, body
    )
    # An admin@ customer attaching an email they received is asking about it.
    admin = {**mime, "From": "admin@butik.example", "Subject": "Konfirmasi pembayaran"}
    assert not fires("bounce-content", admin, body)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-Apple-Action": "VACATION"}, True),
        ({"X-Apple-Criteria": "{kind=VACATION,startDate=2024-06-14T17:00:00Z}"}, True),
        ({"X-MS-Exchange-Generated-Message-Source": "Mailbox Rules Agent"}, True),
        ({"X-MS-Exchange-Generated-Message-Source": "Transport Rule Agent"}, True),
        ({"X-AutoReply-From": "andi@kantor.example"}, True),
        ({"X-Mail-Autoreply": "yes"}, True),
        ({"X-FC-MachineGenerated": "true"}, True),
        ({"X-POST-MessageClass": "9; Autoresponder"}, True),
        ({"X-Autogenerated": "Reply"}, True),
        ({"X-Precedence": "auto_reply"}, True),
        ({"Preference": "auto_reply"}, True),
        ({"Delivered-To": "Autoresponder"}, True),
        ({"X-Amazon-Auto-Reply": "true"}, True),
        ({"X-Mailer": "vacation 1.2"}, True),
        ({"Thread-Topic": "AutoResponse - Pesanan"}, True),
        ({}, False),
        # Forwarding, not answering: an Exchange inbox rule or CommuniGate redirecting a
        # customer's message to us keeps it a customer's message.
        ({"X-MS-Exchange-Inbox-Rules-Loop": "sales@toko-contoh.id"}, False),
        ({"X-Autogenerated": "Forward"}, False),
        ({"X-Apple-Action": "FORWARD"}, False),
        ({"X-FC-MachineGenerated": "false"}, False),
        ({"Delivered-To": "support@toko-contoh.id"}, False),
        ({"X-Mailer": "Microsoft Outlook 16.0"}, False),
        ({"Thread-Topic": "Pesanan #1101 belum sampai"}, False),
    ],
)
def test_provider_autoreply(headers: dict[str, str | None], expected: bool) -> None:
    assert fires("provider-autoreply", headers) is expected


REPLYING = {"In-Reply-To": "<responder.abc@toko-contoh.id>"}


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Subject": "Automatic reply: Pesanan", **REPLYING}, True),
        ({"Subject": "Auto reply: Re: Pesanan [#K7Q2XM]", **REPLYING}, True),
        ({"Subject": "Auto-Reply: Pesanan", "References": "<a@b>"}, True),
        ({"Subject": "AutoResponse: Pesanan", **REPLYING}, True),
        ({"Subject": "AutoRespons :Pesanan", **REPLYING}, True),
        ({"Subject": "Out of Office: Pesanan", **REPLYING}, True),
        ({"Subject": "Out of Office AutoReply: Pesanan", **REPLYING}, True),
        ({"Subject": "Auto: Pesanan", **REPLYING}, True),  # RFC 3834 section 3.1.5
        ({"Subject": "Abwesenheitsnotiz: Bestellung", **REPLYING}, True),
        ({"Subject": "Réponse automatique : Commande", **REPLYING}, True),
        ({"Subject": "Respuesta automática: Pedido", **REPLYING}, True),
        ({"Subject": "Balasan otomatis: Pesanan", **REPLYING}, True),
        ({"Subject": "自動返信: ご注文", **REPLYING}, True),
        (
            {
                "Subject": "Automatic reply: Pesanan",
                "X-MS-Exchange-Inbox-Rules-Loop": "r@x.example",
            },
            True,
        ),
        # A subject alone: a person might type it, and a new message answers nothing.
        ({"Subject": "Automatic reply: Pesanan"}, False),
        ({"Subject": "Auto: kampas rem Avanza?"}, False),
        # Replying to or forwarding an automatic reply is a person writing.
        ({"Subject": "Re: Automatic reply: Pesanan", **REPLYING}, False),
        ({"Subject": "Fwd: Auto reply: Pesanan", **REPLYING}, False),
        ({"Subject": "Auto reply settings question", **REPLYING}, False),
        ({"Subject": "Automotive parts: brake pads", **REPLYING}, False),
        ({"Subject": "Pesanan #1101", "X-MS-Exchange-Inbox-Rules-Loop": "r@x.example"}, False),
    ],
)
def test_autoreply_subject(headers: dict[str, str | None], expected: bool) -> None:
    assert fires("autoreply-subject", headers) is expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-Mailman-Version": "2.1.39"}, True),
        ({"X-BeenThere": "pengrajin@lists.example.net"}, True),
        ({"X-List-Administrivia": "yes"}, True),
        ({"X-MLServer": "fml [fml 4.0.3 release (20011202/4.0.3)]"}, True),
        ({"X-ML-Name": "komunitas"}, True),
        ({"X-Sympa-To": "diskusi@lists.example.org"}, True),
        ({"X-Google-Group-Id": "123456789012"}, True),
        ({"Delivered-To": "mailing list umkm@lists.example.org"}, True),
        ({"X-Loop": "sympa@lists.example.org"}, True),
        ({"X-Loop": "diskusi-request@lists.example.org"}, True),
        ({}, False),
        ({"X-List-Administrivia": "no"}, False),
        ({"Delivered-To": "support@toko-contoh.id"}, False),
        ({"X-Loop": "procmail@example.net"}, False),
        ({"X-Mailer": "Mailman-like Webmail 1.0"}, False),
    ],
)
def test_list_manager(headers: dict[str, str | None], expected: bool) -> None:
    assert fires("list-manager", headers) is expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-Autoreply": "yes"}, True),
        ({"X-Autorespond": "Terima kasih telah menghubungi kami"}, True),
        ({"X-Autoresponder": "true"}, True),
        ({"X-Vacation": "yes"}, True),
        ({}, False),
        ({"X-Autoreply": "no"}, False),
    ],
)
def test_x_autoreply(headers: dict[str, str | None], expected: bool) -> None:
    assert fires("x-autoreply", headers) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("All", True),
        ("all", True),
        ("OOF", True),
        ("AutoReply", True),
        ("DR, OOF", True),
        ("dr,autoreply", True),
        (None, False),
        ("None", False),
        ("DR", False),
        ("DR, RN, NRN", False),
        ("NDR", False),
    ],
)
def test_auto_response_suppress(value: str | None, expected: bool) -> None:
    assert fires("auto-response-suppress", {"X-Auto-Response-Suppress": value}) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("support@toko-contoh.id", True),
        ("<SUPPORT@Toko-Contoh.ID>", True),
        ("Toko Contoh <cs@toko-contoh.id>", True),
        (None, False),
        ("procmail@example.net", False),
        ("xsupport@toko-contoh.id", False),
        ("support@toko-contoh.id.evil.test", False),
    ],
)
def test_x_loop(value: str | None, expected: bool) -> None:
    assert fires("x-loop", {"X-Loop": value}) is expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"From": "Toko Contoh <support@toko-contoh.id>"}, True),
        ({"From": "SUPPORT@TOKO-CONTOH.ID"}, True),
        ({"From": "cs@toko-contoh.id"}, True),  # an alias
        ({"Sender": "support@toko-contoh.id"}, True),
        ({"Reply-To": "budi@example.com, Support@Toko-Contoh.id"}, True),
        ({}, False),  # To: is always us; that is not a loop
        ({"Reply-To": "budi.kantor@example.com"}, False),
        ({"From": "admin@toko-contoh.id"}, False),  # a colleague, not the channel
    ],
)
def test_own_address(headers: dict[str, str | None], expected: bool) -> None:
    assert fires("own-address", headers) is expected


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Message-ID": "<responder.5f0c2e9a1b7d4c3e8a6f0b12@toko-contoh.id>"}, True),
        ({"Message-ID": "<Responder.ABC@TOKO-CONTOH.ID>"}, True),
        ({"Message-ID": "<8c1f0e2d3b4a@webmail.toko-contoh.id>"}, False),
        ({"Message-ID": "<abc@toko-contoh.id>"}, False),  # staff webmail on our domain
        ({"Message-ID": "<responder.abc@evil.test>"}, False),
        ({"Message-ID": None}, False),
        # A customer answering our acknowledgement: the id is in the thread, not theirs.
        ({"In-Reply-To": "<responder.abc@toko-contoh.id>"}, False),
        ({"References": "<a@example.com> <responder.abc@toko-contoh.id>"}, False),
    ],
)
def test_own_message_id(headers: dict[str, str | None], expected: bool) -> None:
    assert fires("own-message-id", headers) is expected


def test_own_message_id_from_the_known_ids_list() -> None:
    ctx = GuardContext(frozenset({"support@toko-contoh.id"}), frozenset(), frozenset({"<x1@y>"}))
    assert RULES["own-message-id"](make({"Message-ID": "<x1@y>"}), ctx) is not None
    assert RULES["own-message-id"](make({"Message-ID": "<x2@y>"}), ctx) is None


def test_context_matches_whatever_case_the_configuration_used() -> None:
    ctx = GuardContext(frozenset({"Support@Toko-Contoh.ID"}), frozenset({"TOKO-CONTOH.ID"}))
    assert RULES["own-address"](make({"From": "support@toko-contoh.id"}), ctx) is not None
    mail = make({"Message-ID": "<responder.1@toko-contoh.id>"})
    assert RULES["own-message-id"](mail, ctx) is not None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"X-Campaign": "promo-lebaran-2024"}, True),
        ({"X-CampaignID": "20240530-lebaran"}, True),
        ({"X-Campaign-ID": "20240530-lebaran"}, True),
        ({"X-MC-User": "1a2b3c4d5e6f7a8b9c0d1e2f3"}, True),
        ({"Feedback-ID": "123456789:123456789.4455667:us21:mc"}, True),
        ({}, False),
        # Relays that also carry person-to-person mail (Amazon WorkMail sends through SES).
        ({"Feedback-ID": "::1.us-west-2.AbCdEf0123=:AmazonSES"}, False),
        ({"X-SES-Outgoing": "2024.06.20-54.240.27.1"}, False),
        ({"X-Mailgun-Tag": "invoice"}, False),
        ({"X-SG-EID": "u001.abcdef"}, False),
        ({"X-Report-Abuse": "Please forward a copy of this message to abuse@relay.example"}, False),
    ],
)
def test_bulk_markers(headers: dict[str, str | None], expected: bool) -> None:
    assert fires("bulk-markers", headers) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, True),
        ("root", True),
        ("root (Cron Daemon)", True),
        ("undisclosed-recipients:;", True),
        ("a@example.com, b@example.net", True),  # several authors: nobody in particular
        ("budi at example dot com", True),
        ("Budi <budi@>", True),
        ("Budi Santoso <budi@example.com>", False),
        ("budi@example.com (Budi)", False),
        ('"Santoso, Budi" <budi@example.com>', False),
    ],
)
def test_missing_sender(value: str | None, expected: bool) -> None:
    assert fires("missing-sender", {"From": value}) is expected


def test_check_reports_the_first_rule_and_its_reason() -> None:
    mail = make(
        {
            "From": "MAILER-DAEMON@mx.example.net",
            "Return-Path": "<>",
            "Auto-Submitted": "auto-replied",
        }
    )
    assert check(mail, CTX) == Verdict("auto-submitted", "Auto-Submitted: auto-replied")


def test_reasons_are_single_safe_lines() -> None:
    mail = make({"Auto-Submitted": "=?utf-8?q?auto-replied=0D=0ABcc:_x@evil.test?="})
    verdict = check(mail, CTX)
    assert verdict is not None
    assert verdict.rule == "auto-submitted"
    assert "\r" not in verdict.reason and "\n" not in verdict.reason


# The corpus: a machine file is named "<rule>--<what it is>.eml" and the FIRST rule that fires
# (GUARDS order) must be that rule; real machine mail often trips several, and the order picks
# the most telling reason. Every human file must pass all rules.
@pytest.mark.parametrize("path", MACHINE, ids=lambda p: p.name)
def test_machine_corpus_fires_its_named_rule_first(path: Path) -> None:
    expected = path.name.split("--", 1)[0]
    verdict = check(parse_message(path.read_bytes()), CTX)
    assert verdict is not None, "machine mail was not recognised"
    assert verdict.rule == expected, verdict.reason


@pytest.mark.parametrize("path", HUMAN, ids=lambda p: p.name)
def test_human_corpus_fires_nothing(path: Path) -> None:
    mail = parse_message(path.read_bytes())
    assert [(n, g(mail, CTX)) for n, g in GUARDS if g(mail, CTX)] == []


def test_corpus_covers_every_rule_and_is_big_enough() -> None:
    named = {p.name.split("--", 1)[0] for p in MACHINE}
    assert named == set(RULES)
    assert len(MACHINE) >= 70 and len(HUMAN) >= 30


def test_line_endings_do_not_change_any_verdict() -> None:
    for path in MACHINE + HUMAN:
        raw = path.read_bytes().replace(b"\r\n", b"\n")
        lf, crlf = parse_message(raw), parse_message(raw.replace(b"\n", b"\r\n"))
        assert check(lf, CTX) == check(crlf, CTX), path.name


def test_check_never_raises_on_mangled_mail() -> None:
    rng = random.Random(1)
    sources = [p.read_bytes() for p in MACHINE + HUMAN]
    for _ in range(1500):
        data = bytearray(rng.choice(sources))
        for _ in range(rng.randint(1, 8)):
            at = rng.randrange(len(data))
            data[at : at + rng.randint(0, 20)] = rng.randbytes(rng.randint(0, 20))
        result = check(parse_message(bytes(data[: rng.randint(0, len(data))])), CTX)
        assert result is None or result.rule in RULES
