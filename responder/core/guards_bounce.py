"""Bounces recognised by who sends them and what they say, whatever the envelope sender."""

from __future__ import annotations

import re

from responder.core.guards_base import GuardContext, local_part, senders, show
from responder.domain.message import MailHeaders

# RFC 5230 section 4.6 names owner-*, *-request and MAILER-DAEMON; the rest are the same kind
# of list manager and bounce processor, including ESP VERP bounce addresses (bounces+123@...).
_SYSTEM_LOCAL = re.compile(
    r"(mailer-?daemon|postmaster|listserv|majordomo)$|owner-|.*-(request|bounces?)$"
    r"|bounces?($|[-._=0-9])"
)
# The same addresses as older and SMS-gateway MTAs spell them: post_master, mailer_daemon,
# mail.delivery.system. Compared with the separators removed, and postmaster and mailerdaemon
# also one typo away (OpenSMTPD test setups send from poostmaster@, "deamon" is common).
_SYSTEM_WORDS = ("postmaster", "mailerdaemon")
_SYSTEM_SQUASHED = re.compile(r"(maildaemon|maildeliverysystem|maildeliverysubsystem)$")
# Addresses machines use, but so do people ("admin@shop.example" writes as a customer): alone
# they silence nothing; bounce-content counts them as one sign among others. -admin is what fml
# and old Mailman lists send their notices from (neko-admin@).
_AMBIGUOUS_LOCAL = re.compile(
    r"(admin|administrator|sysadmin|root|daemon|system|mailer|mail|nobody|smtp|mta)$|.+-admin$"
)
# Display names MTAs give themselves, kept when a relay rewrites the address.
_SYSTEM_NAME = re.compile(
    r"\b(mail(er)?[- _]?daemon|mail delivery (sub)?system|post ?master|ndr administrator)\b", re.I
)


def _near(word: str, target: str) -> bool:
    """At most one edit (insert, delete, change, swap of neighbours) from `target`, keeping its
    first letter: hostmaster@ is a DNS contact that people write from, not a postmaster typo."""
    if word == target:
        return True
    if abs(len(word) - len(target)) > 1 or word[:1] != target[:1]:
        return False
    i = 0
    while i < min(len(word), len(target)) and word[i] == target[i]:
        i += 1
    a, b = word[i:], target[i:]
    return a[1:] == b[1:] or a[1:] == b or a == b[1:] or (a[:2] == b[1::-1] and a[2:] == b[2:])


def is_system_local(address: str) -> bool:
    """A local part only mail systems use: mailer-daemon, postmaster, owner-*, *-request..."""
    return bool(_SYSTEM_LOCAL.match(local_part(address)))


def is_system_variant(address: str) -> bool:
    """MAILER-DAEMON or postmaster as older MTAs and SMS gateways spell them (post_master...)."""
    squashed = re.sub(r"[-._]", "", local_part(address))
    return bool(_SYSTEM_SQUASHED.match(squashed)) or any(_near(squashed, w) for w in _SYSTEM_WORDS)


def _envelope_and_senders(mail: MailHeaders) -> list[tuple[str, str]]:
    candidates = senders(mail)
    if mail.return_path:
        candidates.append(("Return-Path", mail.return_path))
    return candidates


def system_sender(mail: MailHeaders, ctx: GuardContext) -> str | None:
    # RFC 5230 section 4.6: do not answer owner-*, *-request or MAILER-DAEMON; the envelope
    # sender (Return-Path) counts as much as the header addresses.
    for header, address in _envelope_and_senders(mail):
        if is_system_local(address):
            return f"{header}: {address}"
    return None


def system_sender_variant(mail: MailHeaders, ctx: GuardContext) -> str | None:
    # The same RFC 5230 section 4.6 addresses, spelled as the MTAs that still send from them
    # do: post_master@ (SMS gateways), post-master@, mailer_daemon@, and one typo away from
    # postmaster or mailerdaemon (poostmaster@, mailer-deamon@). No person writes from these.
    for header, address in _envelope_and_senders(mail):
        if not is_system_local(address) and is_system_variant(address):
            return f"{header}: {address}"
    return None


# What MTAs put in the Subject of a bounce or delivery report, in the languages they use.
# Alone it proves nothing: "my order could not be delivered" is a customer's subject too.
_BOUNCE_SUBJECT = re.compile(
    r"^(\[[^]]{1,30}\] ?)?("
    r"undeliver(able|ed)\b|returned mail\b|failure notice|failed delivery|failure delivery"
    r"|(permanent |mail |message |e-?mail )?delivery (status|notification|report|failure"
    r"|failed|has failed|problem)|mail (system error|failure|could not be delivered)"
    r"|warning:? (-+ )?could not send|delayed mail|non-?deliver|postmaster notify"
    r"|(sorry, )?your message (could not|couldn't|was not|wasn't) (be )?delivered"
    r"|there was an error sending your mail|notice: mail delivery|mail failed\b"
    r"|returning (message )?to sender"
    r"|complaint about message from \d{1,3}(\.\d{1,3}){3}|(email )?feedback report for ip\b"
    r"|unzustellbar|nicht zustellbar|zustellung fehlgeschlagen|non remis|non distribu"
    r"|[ée]chec de (la )?(remise|livraison|distribution)|no se (puede|pudo) entregar"
    r"|entrega fallida|mensaje no entregado|n[ãa]o (é|e|foi) poss[ií]vel entregar"
    r"|(mensagem )?n[ãa]o entregue|falha na entrega|non recapitabile|mancato recapito"
    r"|onbestelbaar|niet (afgeleverd|bezorgd)|pesan tidak terkirim|pengiriman (pesan )?gagal"
    r"|pemberitahuan status pengiriman|недоставленное сообщение|ваше сообщение не доставлено"
    r")|\b(could not|couldn't|cannot|can't) be delivered\b|\bgagal terkirim\b"
    r"|配信不能|配信できません|メールエラー|送信できませんでした|退信|无法投递",
    re.I,
)
# How MTAs open a bounce, checked on the first lines a person did not quote. Specific to
# mail software: a customer describes a bounce in their own words, not in these.
_MTA_OPENING = re.compile(
    r"this message was created automatically by mail delivery|this is the (qmail-send program"
    r"|mail system at host|postfix program at host|mailer-daemon|dragonfly mail agent)"
    r"|i'?m afraid i wasn'?t able to deliver|i'?m sorry to (have to )?inform you that the mess"
    r"|the original message was received at|^(-{2,} ?)?transcript of session follows"
    r"|-{2,} ?the following addresses had|^a message that you sent (could not|has not yet|contain)"
    r"|that you attempted to send to the following address|^this delivery status notification"
    r"|following recipients? (was|were) rejected by a remote mail server"
    r"|^delivery (to the following recipients?|has) (failed|been delayed)|^delivery has failed"
    r"|your message did not reach some or all of the intended recipients"
    r"|^(your )?message (could not|cannot|couldn't) be delivered to\b"
    r"|^unable to deliver (your )?message to\b|^sorry, we were unable to deliver your message"
    r"|^we had trouble delivering your message|^an error occurred while trying to deliver"
    r"|^there was an error delivering your mail|automatically generated delivery status notif"
    r"|^your mail message to the following address|^error message below:|^-+ ?failure reasons"
    r"|^die zustellung an folgende empf[äa]nger|^la remise aux destinataires"
    r"|^error en la entrega a|^no se pudo entregar a estos|^bezorging is mislukt voor"
    r"|^falha na entrega para|^pengiriman (pesan )?(ke|kepada) .{1,80} gagal"
    r"|^pesan anda tidak (dapat )?terkirim"
    r"|このメールは.{0,20}自動的に生成|次のあて先へのメッセージは",
    re.I,
)
# "Your message ... was not delivered to:" (Domino, Exchange 2003, MailMarshal) spans lines.
_YOUR_MESSAGE = re.compile(r"^your message:?$", re.I)
_NOT_DELIVERED = re.compile(r"(did not reach|was not delivered|could not be delivered)", re.I)
# Where a mail client shows that a person is forwarding what follows.
_CLIENT_FORWARD = re.compile(
    r"^(begin forwarded message|-{2,} ?(forwarded message|original message|weitergeleitete "
    r"nachricht|message transf[ée]r[ée]|mensaje reenviado|pesan yang diteruskan) ?-{2,})",
    re.I,
)
_FORWARD_SUBJECT = re.compile(r"^\s*(fwd?|fw|wg|tr|rv|enc|vs|vb|i|pd|doorst|trs)\s*:", re.I)
# How MTAs mark the copy of the returned message in a plain-text bounce. Case matters for
# Gmail's "----- Original message -----": Outlook ("-----Original Message-----") and Yahoo
# ("----- Original Message -----") write that line above a person's quoted reply.
_RETURNED_INLINE = re.compile(
    r"^(-+ ?this is a copy of the message|-+ ?below this line is a copy of the message"
    r"|(-+ ?)?(original|unsent|returned) (message|mail) follows|-+ ?returned message ?-+$"
    r"|\|?-+ ?message text follows"
    r"|below is a copy of the original message|original message headers:|original mail as "
    r"follows:|original message:$|message headers follow|ursprüngliche nachrichtenkopfzeilen:"
    r"|en-t[êe]tes de message d'origine|encabezados del mensaje original:"
    r"|cabeçalhos da mensagem original:|oorspronkelijke berichtkoppen:)",
    re.I | re.M,
)
_GMAIL_ORIGINAL = re.compile(r"^-{5} Original message -{5}$", re.M)
_RETURNED_PARTS = frozenset(
    {"message/rfc822", "message/global", "text/rfc822-headers", "message/rfc822-headers"}
)
# SMTP's own words: a reply code with an RFC 3463 enhanced status, a DSN field, a transcript.
_DIAGNOSTIC = re.compile(
    r"\b[245]\d\d[ -]#?[245]\.\d{1,3}\.\d{1,3}\b|\(#[245]\.\d{1,3}\.\d{1,3}\)"
    r"|^(final-recipient|diagnostic-code|remote-mta|reporting-mta):|\b(rcpt to|mail from):\s*<"
    r"|^(<<<|>>>) |smtp error from remote",
    re.I | re.M,
)


def _unquoted(text: str) -> list[str]:
    """The non-blank lines of `text` that are not quoted with ">"."""
    lines = (line.strip() for line in text[:20000].splitlines())
    return [line for line in lines if line and not line.startswith(">")]


def _opening(lines: list[str]) -> tuple[bool, str | None]:
    """(forwarded by a person, MTA boilerplate among the first lines).

    A mail client's forward header before any MTA line means a person passes on what follows.
    """
    head = lines[:10]
    for n, line in enumerate(head):
        if _CLIENT_FORWARD.match(line) and not _GMAIL_ORIGINAL.match(line):
            return True, None
        if _MTA_OPENING.search(line):
            return False, line
        if n < 3 and _YOUR_MESSAGE.match(line):
            found = next((x for x in head if _NOT_DELIVERED.search(x)), None)
            if found:
                return False, found
    return False, None


def _returned_part(mail: MailHeaders) -> str | None:
    kind = next((k for k in mail.part_types()[1:] if k in _RETURNED_PARTS), None)
    return f"contains {kind}" if kind else None


def _returned_inline(text: str) -> str | None:
    found = _RETURNED_INLINE.search(text) or _GMAIL_ORIGINAL.search(text)
    return f"quotes {found.group(0).strip()!r}" if found else None


def _system_like(mail: MailHeaders) -> str | None:
    for header, address in senders(mail):
        local = local_part(address)
        if is_system_local(address) or is_system_variant(address) or _AMBIGUOUS_LOCAL.match(local):
            return f"{header}: {address}"
    return f"From name {mail.from_name!r}" if _SYSTEM_NAME.search(mail.from_name) else None


def bounce_content(mail: MailHeaders, ctx: GuardContext) -> str | None:
    # A bounce whose envelope sender a forwarder rewrote (so Return-Path is not <>), or from
    # an MTA that never used one, is still a bounce (RFC 3834 section 2: do not answer
    # delivery reports). Two independent signs are needed, never wording alone:
    #   - MTA boilerplate opening the text, with a bounce subject, a returned original, an
    #     SMTP diagnostic or a system-like sender;
    #   - a bounce subject with the original message returned (part or MTA separator);
    #   - a system-like sender (admin, sysadmin, -admin...) with an MTA's returned-copy line
    #     (not an attached message: an admin@ customer may attach one).
    # A person forwarding a bounce (Fwd:/WG:/TR:... subject, or a client's forward header
    # first) is a customer asking for help.
    lines = _unquoted(mail.text)
    forwarded, opening = _opening(lines)
    if forwarded or _FORWARD_SUBJECT.match(mail.subject):
        return None
    text = "\n".join(lines)
    subject = f"Subject: {mail.subject}" if _BOUNCE_SUBJECT.search(mail.subject) else None
    inline = _returned_inline(text)
    returned = _returned_part(mail) or inline
    if opening:
        diagnostic = m.group(0) if (m := _DIAGNOSTIC.search(text)) else None
        other = subject or returned or diagnostic or _system_like(mail)
        if other:
            return f"{show(opening)} / {show(other)}"
    if subject and returned:
        return f"{show(subject)} / {show(returned)}"
    sender = _system_like(mail) if inline else None
    return f"{show(sender)} / {show(inline)}" if sender and inline else None
