"""The staff group, pure: customer messages relayed into it, and answers to staff commands."""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from responder.core.channel import ChannelProfile, Copy, Desk, Draft, FileRef, Parent, Topic
from responder.core.decisions import Acknowledge, Decision, FollowUp, Moment, Record
from responder.core.outcome import Outcome
from responder.core.reply_kinds import STAFF_NOTICE, STAFF_RELAY, STAFF_REPLY
from responder.core.staff import new_text
from responder.core.tickets import base_subject
from responder.core.view import View
from responder.core.window import closed_for
from responder.domain.message import Message
from responder.domain.records import NewEvent, NewReply

# The subject of a staff answer mailed to an address a visitor left (the web chat's offline
# form), in the ticket's language.
MAILED_SUBJECT = {"id": "Balasan chat {name}", "en": "Your chat with {name}"}
EXCERPT_LINES = 8  # of a mail, in the staff group: enough to see what it is about


@dataclass(frozen=True)
class Relay:
    """A customer message to post in the staff group, before posts are merged."""

    index: int  # the outcome it belongs to
    profile: ChannelProfile  # the channel whose staff group it goes to
    desk: Desk
    home: str  # the channel the message came in on: another's desk posts it on its own
    ref: str
    head: str
    body: str
    copy: bool  # a photo or document: copied with a caption instead of quoted
    source: tuple[int | None, int | None] = (None, None)  # (chat, message) to copy
    # A file still on another channel's servers (WhatsApp media): posted as a file with the
    # relay as its caption, like a copy, fetched when the post is sent (issue 16).
    file: FileRef | None = None


def relay(
    index: int,
    home: ChannelProfile,
    profile: ChannelProfile | None,
    msg: Message,
    decision: Decision,
    moment: Moment,
    history: str = "",
) -> Relay | None:
    """What staff see of a customer's message that opened or joined a ticket, in the staff
    group `profile` (the desk of its `home` channel, or that channel itself); `history`: the
    customer's earlier tickets in a line, under the head (issue 18)."""
    if profile is None:
        return None
    desk = profile.wire.desk
    if profile.staff_chat is None or desk is None:
        return None
    if not isinstance(decision, Acknowledge | Record | FollowUp):
        return None
    own = profile.name == home.name
    if not own:
        # Another channel's message (a mail): its subject and first lines, never copied.
        msg = dataclasses.replace(msg, text=excerpt(msg))
    language = profile.language
    if msg.reach is not None:
        left = desk.word(language, "email_left").format(email=msg.reach)
        msg = dataclasses.replace(msg, text=left)
    marks = []
    if not isinstance(decision, FollowUp):
        marks.append(desk.word(language, "new"))
        if decision.follows:
            marks.append(desk.word(language, "follows_up").format(ref=decision.follows))
        if decision.action.notify_staff:
            marks.append(f"{desk.word(language, 'flagged')} {decision.rule}")
    elif decision.reopen:
        marks.append(desk.word(language, "auto_reopened"))
    if not moment.is_open:
        marks.append(desk.word(language, "closed_hours"))
    head = desk.head(decision.ref, msg, marks)
    if history:
        head = f"{head}\n{history}"
    file = None if own else _file(profile, home, decision.ref, msg)
    copy = own and desk.copied(msg)
    body = desk.caption(head, msg) if copy or file else desk.body(msg)
    source = (msg.thread.chat, msg.thread.post)
    return Relay(index, profile, desk, home.name, decision.ref, head, body, copy, source, file)


def _file(profile: ChannelProfile, home: ChannelProfile, ref: str, msg: Message) -> FileRef | None:
    """The customer's file that staff can be given from its channel (issue 16: media reaches
    staff), with the words said in its place if it cannot be fetched."""
    item = next((a for a in msg.attachments if a.ref), None)
    desk = profile.wire.desk
    if item is None or desk is None:
        return None
    via = desk.word(profile.language, f"via_{home.wire.kind}")
    failed = desk.say(profile.language, "file_not_fetched", ref=ref, via=via, reason="{reason}")
    return FileRef(home.name, item.ref, item.kind, item.name, item.mime, failed)


def excerpt(msg: Message) -> str:
    """A mail as the staff group reads it: its subject, then the first lines of what the
    customer wrote (quoted text left out); the whole mail stays in the mailbox."""
    lines = [line for line in (new_text(msg.text) or "").splitlines()[:EXCERPT_LINES]]
    text = "\n".join(lines).strip()
    subject = msg.subject.strip()
    return f"{subject}\n\n{text}".strip() if subject else text


def merge(
    outcomes: list[Outcome], relays: Sequence[Relay], view: View, now: datetime
) -> list[Outcome]:
    """One staff post per ticket per batch where it fits: a customer who sends twenty
    lines in a row makes one post, not twenty (a group takes 20 posts a minute)."""
    groups: list[list[Relay]] = []
    open_group: dict[str, list[Relay]] = {}
    for item in relays:
        group = open_group.get(item.ref)
        alone = item.copy or item.file is not None
        if alone or group is None or not _fits(group, item):
            group = [item]
            groups.append(group)
            open_group[item.ref] = group
            if alone:
                del open_group[item.ref]
        else:
            group.append(item)
    for group in groups:
        last, profile = group[-1], group[0].profile
        notice = profile.wire.render(_post(group, view), profile, now)
        outcome = outcomes[last.index]
        if last.home == profile.name:
            outcome = dataclasses.replace(outcome, notices=(*outcome.notices, notice))
        else:
            outcome = dataclasses.replace(
                outcome, elsewhere=(*outcome.elsewhere, (profile.name, notice))
            )
        outcomes[last.index] = outcome
    return outcomes


def _post(group: list[Relay], view: View) -> Draft:
    first = group[0]
    staff = first.profile.staff_chat
    assert staff is not None
    name = view.tickets[first.ref].name if first.ref in view.tickets else ""
    topic = Topic(first.ref, f"#{first.ref} {name}".strip()[:128], view.topic_by_ref.get(first.ref))
    if first.file is not None:
        file = first.file
        return Draft(
            STAFF_RELAY, str(staff), markup=first.body, file=file, notice=True, topic=topic
        )
    if first.copy:
        chat, message = first.source
        assert chat is not None
        copy = Copy(chat, message, caption=first.body)
        return Draft(STAFF_RELAY, str(staff), copy=copy, notice=True, topic=topic)
    text = first.head + "\n" + "\n\n".join(r.body for r in group if r.body)
    return Draft(STAFF_RELAY, str(staff), markup=text, notice=True, topic=topic)


def _fits(group: list[Relay], item: Relay) -> bool:
    desk = item.desk
    size = sum(desk.measure(r.body) + 2 for r in group) + desk.measure(group[0].head)
    return size + desk.measure(item.body) + 2 <= desk.limit


def to_staff(profile: ChannelProfile, markup: str, msg: Message, now: datetime) -> NewReply:
    """The bot's answer in the staff group, under the message it answers (in its topic)."""
    staff = profile.staff_chat
    assert staff is not None
    topic = Topic("", "", msg.thread.topic) if msg.thread.topic is not None else None
    draft = Draft(
        STAFF_NOTICE,
        str(staff),
        markup=markup,
        parent=Parent(post=msg.thread.post),
        notice=True,
        topic=topic,
    )
    return profile.wire.render(draft, profile, now)


def answer_elsewhere(
    base: Outcome,
    msg: Message,
    desk: ChannelProfile,
    home: ChannelProfile,
    ref: str,
    view: View,
    event: NewEvent,
    now: datetime,
    mail: ChannelProfile | None = None,
) -> Outcome:
    """A staff member's answer in the desk to another channel's customer (a mail), sent by
    that channel: their words as data (escaped in HTML), from the shop, threaded under the
    customer's last message, with the reference; not marked automatic (a person wrote it).
    Only text goes there, and a photo or document where the channel takes it (staff_file):
    staff are told in the desk when a sticker, photo or file of theirs was not sent, and an
    answer with neither text nor a file passed on reaches nobody, so it stops no clock; nor
    does one the channel no longer takes (WhatsApp, 24 hours after the customer last wrote).
    A customer who left an email address (the web chat's offline form) gets the answer
    there too, by `mail`, threaded by the reference: they may have left the page."""
    text = msg.text.strip()
    words = desk.wire.desk
    last = view.last_message.get(ref)
    notices: tuple[NewReply, ...] = ()
    last_date = last.date if last is not None else None
    if words is not None and (ago := closed_for(home, last_date, now)) is not None:
        # Not sent, not counted as an answer (the customer hears nothing): staff are told
        # why and what they can do instead (issue 16).
        said = words.say(desk.language, "window_closed", ref=ref, ago=_ago(words, desk, ago))
        return dataclasses.replace(base, notices=(to_staff(desk, said, msg, now),))
    file = staff_file(msg, desk, home)
    if (msg.attachments or not text) and file is None and words is not None:
        said = _not_passed_on(words, desk, home, ref, text)
        notices = (to_staff(desk, said, msg, now),)
    if not text and file is None:
        return dataclasses.replace(base, notices=notices)
    info = view.tickets[ref]
    subject = f"Re: {base_subject(last.subject if last else '')} [#{ref}]".replace("  ", " ")
    draft = Draft(
        STAFF_REPLY,
        info.customer,
        subject=subject,
        text=text,
        markup="<br>\n".join(html.escape(line) for line in text.splitlines()),
        to_name=info.name,
        parent=Parent.of(last) if last is not None else None,
        personal=True,
        file=file,
    )
    sent = [(home.name, home.wire.render(draft, home, now))]
    if mail is not None and info.reach is not None:
        # Threaded under the customer's own mail when they last wrote by email. The subject
        # is ours alone: the visitor's words in it would let anyone who types in the panel
        # have the shop mail a line of theirs to an address of theirs.
        parent = Parent.of(last) if last is not None and last.signals.mail else None
        wording = MAILED_SUBJECT.get(info.language, MAILED_SUBJECT["en"])
        subject = f"{wording.format(name=home.display_name or home.name)} [#{ref}]"
        by_mail = dataclasses.replace(
            draft, to=info.reach, subject=subject, to_name="", parent=parent
        )
        sent.append((mail.name, mail.wire.render(by_mail, mail, now)))
    # Their ids join the ticket's thread, so the customer's answer follows up the ticket.
    return dataclasses.replace(
        base,
        message_ids=tuple(r.message_id for _, r in sent if r.message_id),
        events=(event,),
        elsewhere=tuple(sent),
        notices=notices,
    )


def staff_file(msg: Message, desk: ChannelProfile, home: ChannelProfile) -> FileRef | None:
    """A staff member's photo or document passed on with their answer, where the customer's
    channel takes one of its type and size (the website chat: images and PDFs, issue 17);
    fetched from the desk's channel when the answer is sent."""
    item = next((a for a in msg.attachments if a.ref), None)
    if item is None or not home.max_file:
        return None
    # A Telegram photo is always a JPEG (Bot API PhotoSize); a document says its type.
    mime = item.mime or ("image/jpeg" if item.kind == "photo" else "")
    if mime not in home.file_types or (item.size or 0) > home.max_file:
        return None
    return FileRef(desk.name, item.ref, item.kind, item.name, mime)


def _not_passed_on(
    words: Desk, desk: ChannelProfile, home: ChannelProfile, ref: str, text: str
) -> str:
    via = words.word(desk.language, f"via_{home.wire.kind}")
    if not home.max_file:
        key = "text_only_passed_on" if text else "not_passed_on"
        return words.say(desk.language, key, ref=ref, via=via)
    key = "text_only_file_refused" if text else "file_refused"
    return words.say(desk.language, key, ref=ref, via=via, limit=_megabytes(home.max_file))


def _megabytes(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):g} MB"
    return f"{size // 1024} KB"


def _ago(words: Desk, desk: ChannelProfile, ago: timedelta) -> str:
    hours = int(ago.total_seconds() // 3600)
    if hours < 48:
        return words.word(desk.language, "hours").format(n=hours)
    return words.word(desk.language, "days").format(n=hours // 24)
