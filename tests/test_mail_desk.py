"""The staff desk by mail, pure (issue 17): which mailbox answers whose customers, one notice
per ticket per batch with the visitor's words as data, and only a staff mail's own words."""

from __future__ import annotations

import dataclasses
import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest

from responder.config import load_config_text
from responder.config.rules import DEFAULT_RULES
from responder.core.channel import ChannelProfile
from responder.core.decisions import OPEN, Acknowledge, FollowUp, Moment, StaffReply
from responder.core.mail_desk import (
    _own_words,
    answers_by_mail,
    mail_notices,
    mail_relay,
    staff_mail_answer,
    takes_mail_desk,
)
from responder.core.outcome import Outcome
from responder.core.view import TicketInfo, View
from responder.domain.message import Message, Sender, Thread
from responder.domain.records import NewEvent
from responder.services.settings import channel_profiles
from responder.wire.whatsapp.wire import WHATSAPP

NOW = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)
CONFIG = """\
timezone: Asia/Jakarta
state_dir: state
http: {port: 8080, public_url: https://bantuan.toko-contoh.id}
channels:
  - name: web
    type: webchat
    allowed_origins: ["https://toko-contoh.id"]
    title: Toko Contoh
    staff_desk: shop
  - name: shop
    type: email
    address: cs@toko-contoh.id
    language: id
    staff: [ani@toko-contoh.id, budi@toko-contoh.id]
    imap: {host: h, port: 993, username: u, password_file: imap.pw}
    smtp: {host: h, port: 25}
  - name: other
    type: email
    address: other@toko-contoh.id
    imap: {host: h, port: 993, username: u, password_file: imap.pw}
    smtp: {host: h, port: 25}
"""


@pytest.fixture(scope="module")
def profiles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, ChannelProfile]:
    base = tmp_path_factory.mktemp("mail-desk")
    (base / "imap.pw").write_text("secret\n")
    config = load_config_text(CONFIG, "config.yaml", Path(base), environ={})
    return channel_profiles(config)


@pytest.mark.parametrize(
    ("home", "desk", "desk_of_home", "takes"),
    [
        ("web", "shop", None, True),  # the web chat's staff_desk
        ("web", "other", None, False),  # a mailbox that is not its desk
        ("shop", "other", "other", False),  # a mail customer: staff answer them directly
        ("web", "web", "web", False),  # no channel is its own mail desk
        ("whatsapp", "shop", "shop", False),  # a reply window: only the staff group says so
    ],
)
def test_which_mailbox_answers_whose_customers(
    profiles: dict[str, ChannelProfile],
    home: str,
    desk: str,
    desk_of_home: str | None,
    takes: bool,
) -> None:
    if home == "whatsapp":
        home_profile = dataclasses.replace(profiles["web"], name="wa", wire=WHATSAPP)
    else:
        home_profile = profiles[home]
    if desk_of_home is not None:
        home_profile = dataclasses.replace(home_profile, desk=desk_of_home)
    assert takes_mail_desk(home_profile, profiles[desk]) is takes


def visitor(text: str) -> Message:
    return Message(sender=Sender("web:v1", reply_to="web:v1"), text=text, title=text[:20])


def outcome(index: int, ref: str) -> Outcome:
    return Outcome(index, "web", "web:v1", "", (f"web:v1/{index}",), FollowUp(ref))


def parsed(data: bytes) -> EmailMessage:
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_a_burst_makes_one_mail_per_ticket_per_staff_address(
    profiles: dict[str, ChannelProfile],
) -> None:
    web, shop = profiles["web"], profiles["shop"]
    opened = Acknowledge("web:v1", "ABC234", "acknowledgement", "default", DEFAULT_RULES[0].then)
    decisions = [opened, FollowUp("ABC234"), FollowUp("XYZ789"), FollowUp("ABC234")]
    texts = ["Kak, ukuran L? <b>", "Warna hitam", "Lain tiket", "</p><script>x</script>"]
    closed = Moment(False, None, "p1")
    relays = [
        mail_relay(n, web, shop, visitor(t), d, OPEN if n else closed)
        for n, (t, d) in enumerate(zip(texts, decisions, strict=True))
    ]
    assert all(r is not None for r in relays)
    outcomes = [outcome(n, d.ref) for n, d in enumerate(decisions)]
    out = mail_notices(outcomes, [r for r in relays if r is not None], NOW)
    # Ticket ABC234's three lines go with its last message, one mail to each staff address.
    assert [len(o.elsewhere) for o in out] == [0, 0, 2, 2]
    [(channel, mail), (_, other)] = out[3].elsewhere
    assert channel == "shop" and (mail.recipient, other.recipient) == (
        "ani@toko-contoh.id",
        "budi@toko-contoh.id",
    )
    # Their ids join the ticket's thread, so a staff reply names it.
    assert out[3].message_ids == ("web:v1/3", mail.message_id, other.message_id)
    notice = parsed(mail.message)
    assert notice["Subject"] == "[#ABC234] Chat situs web: Kak, ukuran L? <b>"
    assert notice["Auto-Submitted"] == "auto-generated" and notice["From"] == shop.address
    plain = notice.get_body(preferencelist=("plain",))
    markup = notice.get_body(preferencelist=("html",))
    assert plain is not None and markup is not None
    text, page = plain.get_content().replace("\r\n", "\n"), markup.get_content()
    assert "tiket baru" in text and "di luar jam buka" in text
    assert "Kak, ukuran L? <b>\n\nWarna hitam\n\n</p><script>x</script>" in text
    assert "Lain tiket" not in text
    assert "<script>" not in page and "&lt;/p&gt;&lt;script&gt;" in page
    assert "ukuran L? &lt;b&gt;" in page


def test_a_staff_reply_or_a_desk_without_staff_mails_nobody(
    profiles: dict[str, ChannelProfile],
) -> None:
    web, shop = profiles["web"], profiles["shop"]
    staff = StaffReply("ABC234", "")
    assert mail_relay(0, web, shop, visitor("hi"), staff, OPEN) is None
    nobody = dataclasses.replace(shop, staff=())
    assert mail_relay(0, web, nobody, visitor("hi"), FollowUp("ABC234"), OPEN) is None


@pytest.mark.parametrize(
    ("text", "own"),
    [
        (
            "Masih ada kak\n\nOn Thu, 3 Dec 2026, Toko <cs@t.id> wrote:\n> Ukuran L?",
            "Masih ada kak",
        ),
        ("Masih ada\n-- \nAni, Toko Contoh", "Masih ada"),
        ("Masih ada\n--\nAni", "Masih ada"),
        ("> Ukuran L?\nMasih ada", "Masih ada"),
        ("Pada 3 Des 2026, Toko menulis:\n> Ukuran L?", ""),
        ("Harga -- Rp50.000\n" + "x" * 600, "Harga -- Rp50.000\n" + "x" * 600),
        # Outlook quotes the notice unmarked, under a rule or a From/Sent block.
        ("Siap kak\n\n" + "_" * 32 + "\nFrom: Toko\nSent: Kamis\n\n#ABC234 · flagged", "Siap kak"),
        ("Siap kak\n\nDari: Toko <cs@t.id>\nDikirim: Kamis\nSubjek: x\n\n#ABC234", "Siap kak"),
        ("From: Ani\nukuran L habis", "From: Ani\nukuran L habis"),  # just words
        # Answered below the quote: those words are the answer.
        ("On Thu, Toko <cs@t.id> wrote:\n> Ukuran L?\n\nMasih ada kak\n-- \nAni", "Masih ada kak"),
    ],
)
def test_a_staff_mail_passes_on_only_its_own_words(text: str, own: str) -> None:
    assert _own_words(text) == own


@pytest.mark.parametrize(
    ("parents", "refs", "passed_on"),
    [
        (("notice@toko-contoh.id",), ("ABC234",), True),  # a reply to the notice
        (("other@toko-contoh.id", "notice@toko-contoh.id"), (), True),  # deeper in the thread
        ((), ("ABC234",), False),  # [#ABC234] only: a reply to an SLA alert, a new mail
        (("elsewhere@toko-contoh.id",), ("ABC234",), False),
        (("xyz@toko-contoh.id",), (), False),  # another ticket's thread
    ],
)
def test_only_a_reply_in_the_tickets_thread_reaches_the_visitor(
    profiles: dict[str, ChannelProfile],
    parents: tuple[str, ...],
    refs: tuple[str, ...],
    passed_on: bool,
) -> None:
    view = View(
        ref_by_message_id={"notice@toko-contoh.id": "ABC234", "xyz@toko-contoh.id": "XYZ789"}
    )
    thread = Thread(message_id="reply@toko-contoh.id", parents=parents, refs=refs)
    msg = Message(sender=Sender("ani@toko-contoh.id"), thread=thread, text="Masih ada")
    web, shop, other = profiles["web"], profiles["shop"], profiles["other"]
    assert answers_by_mail(msg, shop, web, view, "ABC234") is passed_on
    assert not answers_by_mail(msg, other, web, view, "ABC234")  # not the web chat's desk


def test_a_staff_mail_with_nothing_to_pass_on_tells_its_sender(
    profiles: dict[str, ChannelProfile],
) -> None:
    web, shop = profiles["web"], profiles["shop"]
    view = View(tickets={"ABC234": TicketInfo("ABC234", "web:v", "open", "id", "", "web")})
    thread = Thread(message_id="reply@toko-contoh.id", parents=("notice@toko-contoh.id",))
    quoted_only = "Pada 3 Des 2026, Toko menulis:\n> Ukuran L?"
    msg = Message(sender=Sender("ani@toko-contoh.id"), thread=thread, text=quoted_only)
    base = Outcome(1, "shop", "ani@toko-contoh.id", "Re: x", (), StaffReply("ABC234", ""))
    event = NewEvent("staff_reply", "ani@toko-contoh.id", None, NOW)
    out = staff_mail_answer(base, msg, shop, web, "ABC234", view, event, NOW)
    [(channel, told)] = out.elsewhere
    assert channel == "shop" and told.recipient == "ani@toko-contoh.id"
    assert out.events == ()  # nothing reached the visitor: the clock runs on
    mail = email.message_from_bytes(told.message, policy=email.policy.default)
    assert "Tidak terkirim ke pengunjung #ABC234" in str(mail["Subject"])
