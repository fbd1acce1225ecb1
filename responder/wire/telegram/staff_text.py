"""What the bot writes in the staff group: relayed customer messages and command answers."""

from __future__ import annotations

from responder.wire.telegram.text import CAPTION_LIMIT, escape, truncate_html
from responder.wire.telegram.update import CAPTIONED, ChatMessage

# Staff-facing words, in the channel's language; customers never see these.
WORDS = {
    "en": {
        "new": "new ticket",
        "closed_hours": "outside hours",
        "flagged": "flagged by rule",
        "closed": "✅ #{ref} closed by {who}.",
        "already_closed": "#{ref} was already closed.",
        "reopened": "↩️ #{ref} reopened by {who}.",
        "already_open": "#{ref} is already open.",
        "noted": "📝 Note saved on #{ref}; the customer does not see it.",
        "no_ticket": "Reply to a customer's message (or name the ticket: /{command} ABC234).",
        "empty_note": "Write the note after the command: /note the customer will call back.",
    },
    "id": {
        "new": "tiket baru",
        "closed_hours": "di luar jam buka",
        "flagged": "ditandai aturan",
        "closed": "✅ #{ref} ditutup oleh {who}.",
        "already_closed": "#{ref} sudah ditutup.",
        "reopened": "↩️ #{ref} dibuka kembali oleh {who}.",
        "already_open": "#{ref} masih terbuka.",
        "noted": "📝 Catatan disimpan di #{ref}; pelanggan tidak melihatnya.",
        "no_ticket": "Balas pesan pelanggan (atau sebut tiketnya: /{command} ABC234).",
        "empty_note": "Tulis catatan setelah perintah: /note pelanggan akan menelepon lagi.",
    },
}
MEDIA_WORDS = {
    "photo": "photo",
    "video": "video",
    "document": "document",
    "audio": "audio",
    "voice": "voice note",
    "animation": "GIF",
    "video_note": "video note",
    "sticker": "sticker",
    "location": "location",
    "venue": "place",
    "contact": "contact",
    "poll": "poll",
    "dice": "dice",
    "story": "story",
}


def words(language: str) -> dict[str, str]:
    return WORDS.get(language, WORDS["en"])


def say(language: str, key: str, **values: str) -> str:
    return escape(words(language)[key].format(**values))


def header(ref: str, msg: ChatMessage, marks: list[str]) -> str:
    """`📩 #REF · Name (@user) · new ticket`, every part escaped (names are customer text)."""
    who = escape(msg.name or msg.sender)
    if msg.username:
        who += f" (@{escape(msg.username)})"
    extra = "".join(f" · {escape(mark)}" for mark in marks)
    return f"📩 <b>#{ref}</b> · {who}{extra}"


def body(msg: ChatMessage) -> str:
    """The customer's message as staff read it: escaped text, media named."""
    text = escape(msg.text)
    if msg.media is not None:
        label = f"[{MEDIA_WORDS.get(msg.media, msg.media)}]"
        return f"<i>{label}</i> {text}".rstrip() if msg.media not in CAPTIONED else text
    return text


def caption(head: str, msg: ChatMessage) -> str:
    """A copied photo's or document's new caption, within Telegram's caption limit."""
    text = escape(msg.text)
    return truncate_html(f"{head}\n{text}" if text else head, CAPTION_LIMIT)


def subject(msg: ChatMessage) -> str:
    """A ticket's subject: the first line of what the customer wrote, or what they sent."""
    first = msg.text.strip().split("\n", 1)[0]
    if not first and msg.media is not None:
        first = f"[{MEDIA_WORDS.get(msg.media, msg.media)}]"
    return first[:120]
