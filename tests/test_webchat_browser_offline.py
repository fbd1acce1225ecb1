"""The web chat's offline form in a real browser (issue 17, "Done when"): nobody answers in
time, the panel asks for an email address, the visitor leaves one, and the staff reply from
the Telegram group then arrives at the SMTP sink on the same ticket (and in the panel)."""

from __future__ import annotations

from pathlib import Path

from responder.testing import Dovecot, RecordingSMTPServer, TelegramStandIn
from tests.harness import (
    STAFF_GROUP,
    SUPPORT,
    db_rows,
    local,
    staff_answer,
    wait_sent,
    write_config,
)
from tests.test_webchat_browser import (
    HOURS,
    Ticking,
    open_panel,
    shot,
    shown,
    world,
    write,
)

FORM = "document.getElementById('offline')"
ASKS = f"!{FORM}.hidden && document.getElementById('offline-text').textContent"


def mailbox(tmp_path: Path, dovecot: Dovecot, smtp: RecordingSMTPServer) -> str:
    """The email channel, as write_config writes it: the chat's answers by email go by it."""
    text = write_config(tmp_path / "mail", dovecot, smtp).read_text()
    return text.split("channels:\n", 1)[1]


async def test_nobody_answers_in_time_the_visitor_leaves_an_email_and_the_answer_is_mailed(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer, tg: TelegramStandIn
) -> None:
    (tmp_path / "mail").mkdir()
    channels = "    ask_email_after: 2s\n" + mailbox(tmp_path, dovecot, smtp_server)
    async with world(tmp_path, tg, "id-ID", channels=channels) as w:
        page = await w.browser.new_page()
        await page.goto(f"{w.shop}/")
        frame = await open_panel(page)
        assert await frame.evaluate(f"{FORM}.hidden")  # nothing to ask before a message
        await write(page, frame, "Kak, kaos hitam ukuran XL ada?")
        await shown(frame, 2)  # the acknowledgement
        said = await frame.wait_for(ASKS, timeout=10)
        assert said.startswith("Belum ada staf yang bisa membalas sekarang")
        labels = await frame.evaluate(
            "[document.getElementById('email').labels[0].textContent,"
            " document.getElementById('email').type]"
        )
        assert labels == ["Email Anda", "email"]

        # A wrong address is refused in the panel, a right one saved.
        await frame.click("document.getElementById('email')")
        await page.type_text("sari@")
        await page.press("Enter")
        error = "document.getElementById('offline-error').textContent"
        assert await frame.wait_for(error) == "Alamat email belum benar."
        await frame.evaluate("document.getElementById('email').value = ''")
        await page.type_text("sari@example.com")
        await shot(w, page, "webchat-offline.png")
        await page.press("Enter")
        await frame.wait_for(f"{FORM}.hidden")
        saved = await shown(frame, 3)
        assert saved[2][1:] == ["email", "Balasan juga akan dikirim ke sari@example.com"]

        # Staff see the address on the ticket; one answers the visitor's first post.
        [relay, left] = await wait_sent(tg, STAFF_GROUP, 2)
        assert "sari@example.com" in (left.text or "")
        await staff_answer(tg, relay, "Ada kak, stok XL tinggal 3")
        [mail] = await smtp_server.wait_for_async(1, timeout=10)
        answered = await shown(frame, 4)
        assert page.problems == []
    [ticket] = await db_rows(w.config, "tickets")
    assert ticket["channel"] == "web"
    assert mail.rcpt_tos == ("sari@example.com",)
    assert mail.message["From"] == f"Toko Contoh <{SUPPORT}>"
    assert mail.message["Subject"] == f"Balasan chat Toko Contoh [#{ticket['ref']}]"
    assert "Ada kak, stok XL tinggal 3" in mail.message.get_body(("plain",)).get_content()
    assert answered[3] == ["staff", "staff_reply", "Ada kak, stok XL tinggal 3"]


async def test_when_the_shop_is_closed_the_panel_asks_for_an_email_at_once(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer, tg: TelegramStandIn
) -> None:
    (tmp_path / "mail").mkdir()
    saturday_night = Ticking(local(2026, 11, 28, 21, 0))
    channels = mailbox(tmp_path, dovecot, smtp_server)
    async with world(
        tmp_path, tg, "en-US", extra=HOURS, clock=saturday_night, channels=channels
    ) as w:
        page = await w.browser.new_page()
        await page.goto(f"{w.shop}/")
        frame = await open_panel(page)
        await write(page, frame, "Hello, where is my parcel?")
        said = await frame.wait_for(ASKS, timeout=10)
        assert said == "We are closed now. Leave your email and our reply will go there."
        # "Not now" puts it away, and the cursor back in the message field.
        await frame.click("document.getElementById('email-dismiss')")
        await frame.wait_for(f"{FORM}.hidden")
        assert await frame.evaluate("document.activeElement.id") == "text"
        assert page.problems == []
