"""The staff desk by mail, pure (issue 17): a web chat's visitor messages mailed as notices
to an email channel's staff addresses, and a staff member's mailed answer to one passed on
to the visitor's panel."""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from responder.core.channel import ChannelProfile, Draft
from responder.core.decisions import Acknowledge, Decision, FollowUp, Moment, Record
from responder.core.outcome import Outcome
from responder.core.relay import answer_elsewhere
from responder.core.reply_kinds import STAFF_NOTICE, STAFF_RELAY
from responder.core.staff import unquoted
from responder.core.view import View
from responder.domain.message import Message
from responder.domain.records import NewEvent

# Staff-facing words, in the desk mailbox's language (the Telegram desk's, where they meet).
WORDS = {
    "en": {
        "chat": "Website chat",
        "new": "new ticket",
        "closed_hours": "outside hours",
        "flagged": "flagged by rule",
        "file": "file",
        "email_left": "Left an email address: {email}. Your answers go there too.",
        "not_passed_on": "Not sent to the visitor of #{ref}: no words of yours were found "
        "above the quoted mail. Reply again with your answer above the quote.",
        "text_only": "#{ref}: your text reached the visitor; attachments are not passed on "
        "from mail.",
        "hint": "Reply to this email to answer the visitor: what you write above the quoted "
        "text appears in their chat panel.",
    },
    "id": {
        "chat": "Chat situs web",
        "new": "tiket baru",
        "closed_hours": "di luar jam buka",
        "flagged": "ditandai aturan",
        "file": "berkas",
        "email_left": "Meninggalkan alamat email: {email}. Jawaban Anda juga dikirim ke sana.",
        "not_passed_on": "Tidak terkirim ke pengunjung #{ref}: tidak ada tulisan Anda di atas "
        "kutipan email. Balas lagi dengan jawaban di atas kutipan.",
        "text_only": "#{ref}: teks Anda sampai ke pengunjung; lampiran dari email tidak "
        "diteruskan.",
        "hint": "Balas email ini untuk menjawab pengunjung: yang Anda tulis di atas kutipan "
        "muncul di panel chat mereka.",
    },
}


@dataclass(frozen=True)
class MailRelay:
    """A visitor's message to mail to the desk mailbox's staff, before a ticket's are merged."""

    index: int  # the outcome it belongs to
    desk: ChannelProfile  # the email channel whose staff addresses hear it
    ref: str
    who: str  # the visitor's name, else the first line they wrote
    marks: tuple[str, ...]
    text: str


def mail_relay(
    index: int,
    home: ChannelProfile,
    desk: ChannelProfile | None,
    msg: Message,
    decision: Decision,
    moment: Moment,
) -> MailRelay | None:
    """What the staff addresses of `desk` (a mailbox named by `home`'s staff_desk) are sent
    of a visitor's message that opened or joined a ticket; None where no mailbox hears it."""
    if desk is None or not takes_mail_desk(home, desk) or not desk.staff:
        return None
    if not isinstance(decision, Acknowledge | Record | FollowUp):
        return None
    words = WORDS.get(desk.language, WORDS["en"])
    marks: list[str] = []
    if not isinstance(decision, FollowUp):
        marks.append(words["new"])
        if decision.action.notify_staff:
            marks.append(f"{words['flagged']} {decision.rule}")
    if not moment.is_open:
        marks.append(words["closed_hours"])
    files = [f"[{words['file']}: {a.name or a.kind}]" for a in msg.attachments]
    said = words["email_left"].format(email=msg.reach) if msg.reach else msg.text.strip()
    text = "\n".join([said, *files]).strip()
    who = msg.sender.name or msg.title or msg.sender.address or ""
    return MailRelay(index, desk, decision.ref, who, tuple(marks), text)


def takes_mail_desk(home: ChannelProfile, desk: ChannelProfile) -> bool:
    """Whether `desk` is the mailbox whose staff answer `home`'s customers by mail: its
    staff_desk, a channel writing to addresses, for one that does not and takes an answer at
    any time (a web chat; WhatsApp's 24-hour window needs the staff group, which says when it
    has closed). Another mailbox's staff answering an alert about the ticket reach nobody."""
    return (
        home.desk == desk.name != home.name
        and desk.wire.reaches_addresses
        and not home.wire.reaches_addresses
        and home.wire.reply_window is None
    )


def answers_by_mail(
    msg: Message, desk: ChannelProfile, home: ChannelProfile, view: View, ref: str
) -> bool:
    """Whether a staff mail to the mailbox `desk` is an answer for `home`'s customer: it
    replies to a notice (or a staff answer) in the ticket's thread. One that names the
    ticket only by [#REF] (a reply to an SLA alert: "on it") stops the clock, reaching no one."""
    return takes_mail_desk(home, desk) and any(
        view.ref_by_message_id.get(parent) == ref for parent in msg.thread.parents
    )


def mail_notices(
    outcomes: list[Outcome], relays: Sequence[MailRelay], now: datetime
) -> list[Outcome]:
    """One mail per ticket per batch to each staff address (a visitor who sends ten lines
    makes one), with the last of them; its Message-ID joins the ticket's thread, so a staff
    reply to it (In-Reply-To) names the ticket."""
    groups: dict[str, list[MailRelay]] = {}
    for item in relays:
        groups.setdefault(item.ref, []).append(item)
    for group in groups.values():
        last, desk = group[-1], group[0].desk
        mails = tuple(desk.wire.render(_draft(group, to), desk, now) for to in desk.staff)
        outcome = outcomes[last.index]
        outcomes[last.index] = dataclasses.replace(
            outcome,
            message_ids=(*outcome.message_ids, *(m.message_id for m in mails)),
            elsewhere=(*outcome.elsewhere, *((desk.name, m) for m in mails)),
        )
    return outcomes


def _draft(group: list[MailRelay], to: str) -> Draft:
    first = group[0]
    words = WORDS.get(first.desk.language, WORDS["en"])
    marks = dict.fromkeys(m for r in group for m in r.marks)
    head = " · ".join([f"#{first.ref}", first.who, *marks])
    lines = [r.text for r in group if r.text]
    text = "\n\n".join([head, *lines, words["hint"]])
    # Visitor text is data: escaped in the HTML part, never markup or template source.
    markup = "\n".join(
        [f"<p><b>{html.escape(head)}</b></p>"]
        + [f"<p>{'<br>'.join(html.escape(x) for x in line.splitlines())}</p>" for line in lines]
        + [f"<p><i>{html.escape(words['hint'])}</i></p>"]
    )
    subject = f"[#{first.ref}] {words['chat']}: {first.who}"
    # A notice, not a reply to a customer: RFC 3834's auto-generated, so an echo of it
    # (Bcc, the Sent folder) is never taken for customer mail.
    return Draft(STAFF_RELAY, to, subject=subject, text=text, markup=markup, notice=True)


def staff_mail_answer(
    base: Outcome,
    msg: Message,
    desk: ChannelProfile,
    home: ChannelProfile,
    ref: str,
    view: View,
    event: NewEvent,
    now: datetime,
    by_email: ChannelProfile | None = None,
) -> Outcome:
    """A staff member's mail answering another channel's ticket (a visitor's), passed on as
    the desk passes any answer on: only their own words, not the quoted notice nor their
    signature. The mail's own ids stay in the thread, so a second copy of it (Cc, the Sent
    folder) is not a second answer."""
    text = _own_words(msg.text)
    answered = dataclasses.replace(msg, text=text, attachments=())
    out = answer_elsewhere(base, answered, desk, home, ref, view, event, now, by_email)
    out = dataclasses.replace(out, message_ids=(*base.message_ids, *out.message_ids))
    key = "not_passed_on" if not text else "text_only" if msg.attachments else None
    sender = msg.sender.address
    if key is None or not sender:
        return out
    # Not lost silently: the staff member hears, by mail, what did not reach the visitor.
    words = WORDS.get(desk.language, WORDS["en"])
    said = words[key].format(ref=ref)
    draft = Draft(STAFF_NOTICE, sender, subject=f"[#{ref}] {said}", text=said, notice=True)
    told = (desk.name, desk.wire.render(draft, desk, now))
    return dataclasses.replace(out, elsewhere=(*out.elsewhere, told))


def _own_words(text: str) -> str:
    lines = unquoted(text).splitlines()
    # RFC 3676 section 4.3: "-- " starts the signature (some clients drop its space).
    cut = next((n for n, line in enumerate(lines) if line.rstrip() == "--"), len(lines))
    return "\n".join(lines[:cut]).strip()
