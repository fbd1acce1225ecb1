"""Named rules that recognise machine mail, which must never receive an automatic reply."""

from __future__ import annotations

import re

from responder.core.guards_base import Guard, GuardContext, Verdict, keyword, senders, show
from responder.core.guards_bounce import bounce_content, system_sender, system_sender_variant
from responder.core.guards_markers import autoreply_subject, list_manager, provider_autoreply
from responder.domain.message import MailHeaders, Message

__all__ = ["GUARDS", "Guard", "GuardContext", "Verdict", "check", "check_message"]

# RFC 3464 / RFC 6533 delivery status, RFC 8098 read receipts, RFC 5965 abuse feedback reports.
_REPORT_PART = re.compile(
    r"message/((global-)?(delivery-status|disposition-notification)|feedback-report)$"
)
_NOREPLY = frozenset({"noreply", "donotreply"})
_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply", "auto-reply"})
_SUPPRESS = frozenset({"all", "oof", "autoreply"})
_AUTOREPLY_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Vacation")
_LIST_HEADERS = frozenset({"x-mailing-list", "mailing-list"})
# Headers only marketing (bulk) platforms add. Deliberately absent: X-Mailgun-*, X-SES-*,
# X-SG-* and X-Report-Abuse, which transactional relays put on person-to-person mail too.
_BULK_HEADERS = frozenset({"x-campaign", "x-campaignid", "x-campaign-id", "x-mc-user"})
_ADDRESS = re.compile(r"[^\s<>(),;:\"']+@[^\s<>(),;:\"']+")


def auto_submitted(mail: MailHeaders, ctx: GuardContext) -> str | None:
    # RFC 3834 section 2 (and RFC 5230 section 4.6): no response to any Auto-Submitted value
    # other than "no"; its section 5 allows parameters and comments after the keyword.
    for value in mail.header("Auto-Submitted"):
        if keyword(value) != "no":
            return f"Auto-Submitted: {show(value)}"
    return None


def precedence(mail: MailHeaders, ctx: GuardContext) -> str | None:
    # Never standardised (RFC 2076 lists it as non-standard), but list servers and vacation(1)
    # set it, and RFC 3834 section 2 lets a responder decline mail that looks like bulk.
    for value in mail.header("Precedence"):
        if keyword(value) in _PRECEDENCE:
            return f"Precedence: {show(value)}"
    return None


def list_headers(mail: MailHeaders, ctx: GuardContext) -> str | None:
    # RFC 5230 section 4.6: never answer mail carrying RFC 2369 / RFC 2919 list header fields;
    # X-Mailing-List and Mailing-List are what ezmlm, vger and older list servers add instead.
    for name in mail.header_names():
        if name.lower().startswith("list-") or name.lower() in _LIST_HEADERS:
            return f"{show(name)} header present"
    return None


def null_return_path(mail: MailHeaders, ctx: GuardContext) -> str | None:
    # RFC 3834 section 2: a null reverse-path means nobody can receive the response; RFC 5321
    # section 4.5.5 reserves it for notifications that must not be answered. An absent
    # Return-Path only means the mail store did not record one, so it says nothing.
    return "Return-Path: <>" if mail.return_path == "" else None


def delivery_report(mail: MailHeaders, ctx: GuardContext) -> str | None:
    # Bounces and receipts are multipart/report (RFC 6522) holding a machine-readable part.
    # Only the top level and its direct parts count: a customer forwarding a bounce to us
    # attaches it as message/rfc822, and that customer deserves an answer.
    kinds = mail.part_types()
    if kinds[:1] == ["multipart/report"]:
        report = mail.content_param("report-type")
        return f"Content-Type: multipart/report; report-type={report or '?'}"
    for kind in kinds:
        if _REPORT_PART.match(kind):
            return f"contains {kind}"
    # Exim and Gmail name the failed recipients on every bounce, even plain-text ones.
    failed = mail.header("X-Failed-Recipients")
    return f"X-Failed-Recipients: {show(failed[0])}" if failed else None


def noreply_sender(mail: MailHeaders, ctx: GuardContext) -> str | None:
    # A sender who says replies go nowhere. The local part is split into tokens on . - _ +
    # and a run of one to three adjacent tokens must spell "noreply" or "donotreply": so
    # no-reply, do_not_reply, noreply+tag and shop.noreply match, while replyguy, reply and
    # noreplyguy (one token that only starts with "noreply") are people.
    # A web contact form sends from noreply@ with the customer in Reply-To: the reply goes to
    # a person, so only the address a reply would reach decides.
    if len(mail.reply_to) == 1:
        return f"Reply-To: {mail.reply_to[0]}" if _is_noreply(mail.reply_to[0]) else None
    for header, address in senders(mail):
        if _is_noreply(address):
            return f"{header}: {address}"
    return None


def _is_noreply(address: str) -> bool:
    tokens = re.split(r"[-._+]", address.rpartition("@")[0] or address)
    return any(
        "".join(tokens[i : i + n]) in _NOREPLY for i in range(len(tokens)) for n in (1, 2, 3)
    )


def x_autoreply(mail: MailHeaders, ctx: GuardContext) -> str | None:
    # Pre-RFC 3834 markers that cPanel/Exim autoresponders and webmail vacation add-ons still
    # set instead of Auto-Submitted.
    for name in _AUTOREPLY_HEADERS:
        for value in mail.header(name):
            if keyword(value) != "no":
                return f"{name}: {show(value)}"
    return None


def auto_response_suppress(mail: MailHeaders, ctx: GuardContext) -> str | None:
    # [MS-OXCMAIL]: Exchange marks its own automatic mail with X-Auto-Response-Suppress, a
    # comma-separated list; All, OOF or AutoReply ask auto-responders like us to stay silent.
    # DR, NDR, RN and NRN only concern delivery and read receipts, None means nothing.
    for value in mail.header("X-Auto-Response-Suppress"):
        if _SUPPRESS & set(re.split(r"[\s,;]+", value.lower())):
            return f"X-Auto-Response-Suppress: {show(value)}"
    return None


def x_loop(mail: MailHeaders, ctx: GuardContext) -> str | None:
    # X-Loop (procmail and most responders, ours included) names the address that already
    # handled this message: if it is ours, the message has been round the loop once.
    for value in mail.header("X-Loop"):
        if any(a.lower() in ctx.own_addresses for a in _ADDRESS.findall(value)):
            return f"X-Loop: {show(value)}"
    return None


def own_address(mail: MailHeaders, ctx: GuardContext) -> str | None:
    # Answering ourselves is the shortest mail loop there is.
    candidates = [*senders(mail), *(("Reply-To", a) for a in mail.reply_to)]
    for header, address in candidates:
        if address in ctx.own_addresses:
            return f"{header}: {address}"
    return None


def own_message_id(mail: MailHeaders, ctx: GuardContext) -> str | None:
    # Our replies use Message-IDs <responder.TOKEN@our-domain>: the same id coming back in
    # means our own reply reached us again (forwarding, aliases, a Bcc to ourselves).
    mid = mail.message_id
    if mid is None:
        return None
    local, _, domain = mid.rpartition("@")
    if mid in ctx.own_message_ids or (
        domain.lower() in ctx.own_domains and local.lower().startswith("responder.")
    ):
        return f"Message-ID: <{show(mid)}>"
    return None


def bulk_markers(mail: MailHeaders, ctx: GuardContext) -> str | None:
    # X-Campaign / X-CampaignID / X-Campaign-ID name the marketing campaign a message belongs
    # to; X-MC-User is the account header of Mailchimp's campaign sender. Feedback-ID is the
    # id Gmail's Feedback Loop asks bulk senders for, but Amazon SES adds its own (ending in
    # ":AmazonSES") to everything it relays, Amazon WorkMail's person-to-person mail too, so
    # that form is not counted.
    for name in mail.header_names():
        if name.lower() in _BULK_HEADERS:
            return f"{show(name)} header present"
    for value in mail.header("Feedback-ID"):
        sender_id = value.rsplit(":", 1)[-1].strip().lower()
        if sender_id and sender_id != "amazonses":
            return f"Feedback-ID: {show(value)}"
    return None


def missing_sender(mail: MailHeaders, ctx: GuardContext) -> str | None:
    # With no single valid From address (absent, a bare "root", a group, several authors)
    # there is nobody to answer; cron output and broken scripts look like this.
    return "no usable From address" if mail.from_addr is None else None


# First match wins, so the most telling reason comes first: what the message says it is
# (a report, an automatic reply, a provider's stamp), then loops involving us, then list and
# bulk mail, then the envelope, then what its content and the sender's address suggest, and
# last the absence of anyone to answer.
GUARDS: tuple[tuple[str, Guard], ...] = (
    ("delivery-report", delivery_report),
    ("auto-submitted", auto_submitted),
    ("x-autoreply", x_autoreply),
    ("auto-response-suppress", auto_response_suppress),
    ("provider-autoreply", provider_autoreply),
    ("autoreply-subject", autoreply_subject),
    ("x-loop", x_loop),
    ("own-message-id", own_message_id),
    ("own-address", own_address),
    ("list-headers", list_headers),
    ("list-manager", list_manager),
    ("bulk-markers", bulk_markers),
    ("precedence", precedence),
    ("null-return-path", null_return_path),
    ("system-sender", system_sender),
    ("bounce-content", bounce_content),
    ("system-sender-variant", system_sender_variant),
    ("noreply-sender", noreply_sender),
    ("missing-sender", missing_sender),
)


def check(mail: MailHeaders, ctx: GuardContext) -> Verdict | None:
    """The first guard that recognises `mail` as machine mail, or None for a person's mail."""
    for name, guard in GUARDS:
        reason = guard(mail, ctx)
        if reason is not None:
            return Verdict(rule=name, reason=reason)
    return None


def check_message(msg: Message, ctx: GuardContext) -> Verdict | None:
    """Machine mail by its headers; in a chat, what the app itself says: a group rather than
    a private chat, a bot, a service message nobody wrote."""
    signals = msg.signals
    if signals.mail is not None:
        return check(signals.mail, ctx)
    if signals.group is not None:
        return Verdict("not-private", f"a message in a {signals.group} chat")
    if signals.bot:
        return Verdict("bot", "sent by a bot")
    if signals.service:
        return Verdict("service-message", "a service message, nobody wrote anything")
    return None
