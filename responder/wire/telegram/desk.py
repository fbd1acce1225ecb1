"""What the bot writes in the staff group: relayed customer messages and command answers."""

from __future__ import annotations

from collections.abc import Sequence

from responder.domain.message import Message
from responder.wire.telegram.message import MEDIA_WORDS
from responder.wire.telegram.text import (
    CAPTION_LIMIT,
    MESSAGE_LIMIT,
    escape,
    truncate_html,
    visible_length,
)
from responder.wire.telegram.update import CAPTIONED

# Staff-facing words, in the channel's language; customers never see these.
WORDS = {
    "en": {
        "new": "new ticket",
        "closed_hours": "outside hours",
        "flagged": "flagged by rule",
        "closed": "✅ #{ref} closed by {who}.",
        "already_closed": "#{ref} was already closed.",
        "reopened": "↩️ #{ref} reopened by {who}.",
        "auto_closed": "⏳ #{ref} closed automatically after {waited} waiting on the customer.",
        "auto_reopened": "↩️ reopened",
        "follows_up": "↪️ follows up #{ref}",
        "already_open": "#{ref} is already open.",
        "noted": "📝 Note saved on #{ref}; the customer does not see it.",
        "no_ticket": "Reply to a customer's message (or name the ticket: /{command} ABC234).",
        "empty_note": "Write the note after the command: /note the customer will call back.",
        "not_passed_on": "⚠️ Not sent: #{ref} is answered {via}, where only text goes. "
        "Write the answer as text.",
        "text_only_passed_on": "⚠️ #{ref} is answered {via}: your text was sent, the "
        "attachment was not.",
        "file_refused": "⚠️ Not sent: #{ref} is answered {via}, where only images and PDF "
        "files up to {limit} go. Send one of those, or write the answer as text.",
        "text_only_file_refused": "⚠️ #{ref} is answered {via}: your text was sent, the "
        "attachment was not (only images and PDF files up to {limit} go there).",
        "via_email": "by email",
        "via_whatsapp": "on WhatsApp",
        "via_webchat": "in the website chat",
        "via_telegram": "on Telegram",
        # A contact's history (issue 18): with a new ticket's post, and /history, /link.
        "history_count": "{n} earlier conversation(s)",
        "history_last": "last: “{subject}” {via}, {date}, {status}",
        "history_rated": ", rated {n}/5",
        "history_open": "also open: {tickets}",
        "history_none": "#{ref}: no earlier conversations with this customer.",
        "history_head": "🗂 #{ref}: {n} conversation(s) with {who}",
        "history_row": "#{ref} · {date} · {via} · “{subject}” · {status}",
        "status_open": "open",
        "status_resolved": "resolved",
        "linked": "🔗 #{ref} and #{other} are one customer now: {who}.",
        "already_linked": "#{ref} and #{other} are already one customer.",
        "link_usage": "Name the two tickets: /link ABC234 DEF567 (or reply to a customer's "
        "message with /link DEF567).",
        # /merge (issue 18): the newer ticket joins the older one.
        "merged": "🔀 #{ref} merged into #{into} ({n} message(s)); answer on #{into}.",
        "merge_same": "#{ref} is the same ticket: name another one to merge into it.",
        "merge_already": "#{ref} was already merged into #{into}.",
        "merge_link_first": "#{ref} and #{other} are different customers: if they are one "
        "person, /link them first, then /merge.",
        "merge_usage": "Name the two tickets: /merge ABC234 DEF567 (or reply to a customer's "
        "message with /merge DEF567); the newer one joins the older.",
        "status_merged": "merged",
        "email_left": "✉️ Left an email address: {email}. Your answers go there too.",
        # WhatsApp Business Platform: free-form messages only within the customer service
        # window, 24 hours from the customer's last message.
        "window_closed": "⚠️ Not sent: the customer of #{ref} last wrote on WhatsApp {ago} "
        "ago, and WhatsApp lets a business answer only within 24 hours of the customer's last "
        "message. Ask them to write again (call them, or answer by email), or send an "
        "approved template from WhatsApp Manager.",
        "file_not_fetched": "⚠️ #{ref}: a file the customer sent {via} could not be fetched "
        "({reason}). Ask them to send it again, or by email.",
        "hours": "{n} hours",
        "days": "{n} days",
    },
    "id": {
        "new": "tiket baru",
        "closed_hours": "di luar jam buka",
        "flagged": "ditandai aturan",
        "closed": "✅ #{ref} ditutup oleh {who}.",
        "already_closed": "#{ref} sudah ditutup.",
        "reopened": "↩️ #{ref} dibuka kembali oleh {who}.",
        "auto_closed": "⏳ #{ref} ditutup otomatis setelah {waited} menunggu balasan pelanggan.",
        "auto_reopened": "↩️ dibuka kembali",
        "follows_up": "↪️ lanjutan dari #{ref}",
        "already_open": "#{ref} masih terbuka.",
        "noted": "📝 Catatan disimpan di #{ref}; pelanggan tidak melihatnya.",
        "no_ticket": "Balas pesan pelanggan (atau sebut tiketnya: /{command} ABC234).",
        "empty_note": "Tulis catatan setelah perintah: /note pelanggan akan menelepon lagi.",
        "not_passed_on": "⚠️ Tidak terkirim: #{ref} dibalas {via}, dan ke sana hanya teks "
        "yang terkirim. Tulis jawabannya sebagai teks.",
        "text_only_passed_on": "⚠️ #{ref} dibalas {via}: teks Anda terkirim, lampirannya tidak.",
        "file_refused": "⚠️ Tidak terkirim: #{ref} dibalas {via}, dan ke sana hanya gambar dan "
        "file PDF hingga {limit} yang terkirim. Kirim salah satunya, atau tulis jawabannya "
        "sebagai teks.",
        "text_only_file_refused": "⚠️ #{ref} dibalas {via}: teks Anda terkirim, lampirannya "
        "tidak (ke sana hanya gambar dan file PDF hingga {limit}).",
        "via_email": "lewat email",
        "via_whatsapp": "lewat WhatsApp",
        "via_webchat": "lewat chat situs web",
        "via_telegram": "lewat Telegram",
        "history_count": "{n} percakapan sebelumnya",
        "history_last": "terakhir: “{subject}” {via}, {date}, {status}",
        "history_rated": ", nilai {n}/5",
        "history_open": "juga terbuka: {tickets}",
        "history_none": "#{ref}: belum ada percakapan sebelumnya dengan pelanggan ini.",
        "history_head": "🗂 #{ref}: {n} percakapan dengan {who}",
        "history_row": "#{ref} · {date} · {via} · “{subject}” · {status}",
        "status_open": "terbuka",
        "status_resolved": "selesai",
        "linked": "🔗 #{ref} dan #{other} kini satu pelanggan: {who}.",
        "already_linked": "#{ref} dan #{other} sudah satu pelanggan.",
        "link_usage": "Sebut kedua tiketnya: /link ABC234 DEF567 (atau balas pesan pelanggan "
        "dengan /link DEF567).",
        "merged": "🔀 #{ref} digabung ke #{into} ({n} pesan); balas di #{into}.",
        "merge_same": "#{ref} adalah tiket yang sama: sebut tiket lain untuk digabungkan.",
        "merge_already": "#{ref} sudah digabung ke #{into}.",
        "merge_link_first": "#{ref} dan #{other} pelanggan yang berbeda: jika orangnya sama, "
        "/link dulu, lalu /merge.",
        "merge_usage": "Sebut kedua tiketnya: /merge ABC234 DEF567 (atau balas pesan pelanggan "
        "dengan /merge DEF567); tiket yang lebih baru digabung ke yang lebih lama.",
        "status_merged": "digabung",
        "email_left": "✉️ Meninggalkan alamat email: {email}. Jawaban Anda juga dikirim ke sana.",
        "window_closed": "⚠️ Tidak terkirim: pelanggan #{ref} terakhir menulis di WhatsApp "
        "{ago} yang lalu, dan WhatsApp hanya mengizinkan bisnis membalas dalam 24 jam sejak "
        "pesan terakhir pelanggan. Minta pelanggan menulis lagi (telepon, atau balas lewat "
        "email), atau kirim template yang disetujui dari WhatsApp Manager.",
        "file_not_fetched": "⚠️ #{ref}: file yang dikirim pelanggan {via} tidak dapat diambil "
        "({reason}). Minta pelanggan mengirimnya lagi, atau lewat email.",
        "hours": "{n} jam",
        "days": "{n} hari",
    },
}


class TelegramDesk:
    """The staff group: Telegram HTML, 4,096 characters a post, 1,024 a caption."""

    limit = MESSAGE_LIMIT

    def measure(self, markup: str) -> int:
        return visible_length(markup)

    def word(self, language: str, key: str) -> str:
        return WORDS.get(language, WORDS["en"])[key]

    def say(self, language: str, key: str, **values: str) -> str:
        return escape(self.word(language, key).format(**values))

    def head(self, ref: str, msg: Message, marks: Sequence[str]) -> str:
        """`📩 #REF · Name (@user) · new ticket`, every part escaped (names are customer
        text)."""
        who = escape(msg.sender.name or msg.sender.address or "")
        handle = msg.sender.handle
        if handle:
            # A Telegram username is shown as @name; a phone number (WhatsApp) as it is.
            who += f" ({escape(handle if handle.startswith('+') else '@' + handle)})"
        extra = "".join(f" · {escape(mark)}" for mark in marks)
        return f"📩 <b>#{ref}</b> · {who}{extra}"

    def body(self, msg: Message) -> str:
        """The customer's message as staff read it: escaped text, media named."""
        text = escape(msg.text)
        if msg.attachments:
            media = msg.attachments[0].kind
            label = f"[{MEDIA_WORDS.get(media, media)}]"
            return f"<i>{label}</i> {text}".rstrip() if media not in CAPTIONED else text
        return text

    def copied(self, msg: Message) -> bool:
        """A photo or document: copied into the staff group with a caption, not quoted."""
        return bool(msg.attachments) and msg.attachments[0].kind in CAPTIONED

    def caption(self, head: str, msg: Message) -> str:
        """A copied photo's or document's new caption, within Telegram's caption limit."""
        text = escape(msg.text)
        return truncate_html(f"{head}\n{text}" if text else head, CAPTION_LIMIT)


DESK = TelegramDesk()
