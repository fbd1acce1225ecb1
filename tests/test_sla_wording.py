"""SLA alert wording: durations, clock names and the sla_alert templates in both languages."""

from __future__ import annotations

import re
from typing import Any

import pytest

from responder.core.sla.wording import CLOCK_NAMES, clock_name, format_span
from responder.core.templates import Templates
from responder.wire.telegram.text import escape

STAGES = ("reminder", "breach", "escalation")
LANGUAGES = ("id", "en")
TELEGRAM_TAGS = {"b", "i", "code", "pre", "a", "blockquote"}
EXCERPT = 'Paket belum sampai <script>alert("x")</script> & tolong dicek'
STAGE_WORDS = {
    ("en", "reminder"): "Reminder",
    ("en", "breach"): "breached",
    ("en", "escalation"): "Escalation",
    ("id", "reminder"): "Pengingat",
    ("id", "breach"): "terlewati",
    ("id", "escalation"): "Eskalasi",
}


@pytest.mark.parametrize(
    "minutes, english, indonesian",
    [
        (0, "less than a minute", "kurang dari semenit"),
        (0.4, "less than a minute", "kurang dari semenit"),
        (0.99, "less than a minute", "kurang dari semenit"),
        (-5, "less than a minute", "kurang dari semenit"),
        (1, "1 min", "1 menit"),
        (1.5, "2 min", "2 menit"),
        (45, "45 min", "45 menit"),
        (59.4, "59 min", "59 menit"),
        (59.6, "1 h", "1 jam"),
        (60, "1 h", "1 jam"),
        (61, "1 h 1 min", "1 jam 1 menit"),
        (80, "1 h 20 min", "1 jam 20 menit"),
        (180, "3 h", "3 jam"),
        (1439, "23 h 59 min", "23 jam 59 menit"),
        (1439.6, "1 d", "1 hari"),
        (1440, "1 d", "1 hari"),
        (1441, "1 d", "1 hari"),
        (1500, "1 d 1 h", "1 hari 1 jam"),
        (3000, "2 d 2 h", "2 hari 2 jam"),
        (3120, "2 d 4 h", "2 hari 4 jam"),
        (3179, "2 d 4 h", "2 hari 4 jam"),
    ],
)
def test_format_span(minutes: float, english: str, indonesian: str) -> None:
    assert format_span(minutes, "en") == english
    assert format_span(minutes, "id") == indonesian


def test_format_span_unknown_language_is_english_and_nan_is_refused() -> None:
    assert format_span(80, "fr") == "1 h 20 min"
    with pytest.raises(ValueError):
        format_span(float("nan"), "en")
    with pytest.raises(ValueError):
        format_span(float("inf"), "id")


def test_clock_names() -> None:
    assert clock_name("first_response", "en") == "first response"
    assert clock_name("first_response", "id") == "respons pertama"
    assert clock_name("resolution", "id") == "penyelesaian"
    assert clock_name("resolution", "fr") == "resolution"
    assert set(CLOCK_NAMES) == {"en", "id"}
    assert all(set(names) == {"first_response", "resolution"} for names in CLOCK_NAMES.values())


def context(language: str, stage: str, clock: str = "first_response", **sla: Any) -> dict[str, Any]:
    """The daemon's sla_alert context for ticket ABC234 (every key present)."""
    reminder = stage == "reminder"
    values: dict[str, Any] = {
        "stage": stage,
        "clock": clock,
        "clock_name": clock_name(clock, language),
        "policy": "Standar",
        "target": format_span(240, language),
        "waited": format_span(180 if reminder else 245, language),
        "left": format_span(60, language) if reminder else "",
        "over": "" if reminder else format_span(5 if stage == "breach" else 65, language),
        "due": "Senin 08.30 WIB" if language == "id" else "Monday 08:30 WIB",
        "business_time": True,
    }
    values.update(sla)
    return {
        "language": language,
        "ticket": {"ref": "ABC234"},
        "customer": {"name": "Budi", "address": "budi@example.com"},
        "message": {"subject": "Pesanan #88 belum sampai", "excerpt": EXCERPT},
        "channel": {"name": "support-mail", "address": "support@toko-contoh.id"},
        "business": {"name": "Toko Contoh", "address": "support@toko-contoh.id"},
        "sla": values,
    }


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("stage", STAGES)
def test_every_part_renders(language: str, stage: str) -> None:
    templates = Templates()
    sample = context(language, stage)
    assert templates.check(["sla_alert"], sample) == []
    mail = templates.render("sla_alert", [language], sample)
    chat = templates.render_markup("sla_alert", [language], sample, "telegram", escape)
    assert mail.language == chat.language == language

    assert mail.subject.startswith("[#ABC234] ")
    assert "\n" not in mail.subject and "\r" not in mail.subject
    word = STAGE_WORDS[(language, stage)]
    for part in (mail.subject, mail.text, mail.html, chat.html):
        assert word in part
        assert "ABC234" in part
        assert "Budi" in part
        assert sample["sla"]["clock_name"] in part.lower()
        if stage == "reminder":
            assert sample["sla"]["left"] in part
        else:
            assert sample["sla"]["over"] in part
    for part in (mail.text, mail.html, chat.html):
        assert sample["sla"]["due"] in part
        assert "Standar" in part
        assert "support-mail" in part

    assert EXCERPT in mail.text
    escaped = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; tolong dicek"
    for part in (mail.html, chat.html):
        assert "<script" not in part
        assert escaped in part

    assert "<br" not in chat.html
    assert set(re.findall(r"</?([a-z]+)", chat.html)) <= TELEGRAM_TAGS
    first, *rest = chat.html.splitlines()
    assert first.startswith("<b>") and first.endswith("</b>") and "#ABC234" in first
    assert chat.html.endswith("</blockquote>")
    assert 3 <= rest.index(next(line for line in rest if line.startswith("<blockquote>"))) <= 5


@pytest.mark.parametrize(
    "language, stage, subject",
    [
        ("en", "reminder", "[#ABC234] Reminder: first response due in 1 h (Budi)"),
        ("en", "breach", "[#ABC234] SLA breached: first response overdue by 5 min (Budi)"),
        ("en", "escalation", "[#ABC234] Escalation: first response overdue by 1 h 5 min (Budi)"),
        ("id", "reminder", "[#ABC234] Pengingat: respons pertama jatuh tempo dalam 1 jam (Budi)"),
        ("id", "breach", "[#ABC234] SLA terlewati: respons pertama terlambat 5 menit (Budi)"),
        ("id", "escalation", "[#ABC234] Eskalasi: respons pertama terlambat 1 jam 5 menit (Budi)"),
    ],
)
def test_subjects(language: str, stage: str, subject: str) -> None:
    assert Templates().render("sla_alert", [language], context(language, stage)).subject == subject


@pytest.mark.parametrize("language", LANGUAGES)
def test_business_time_and_clock_wording(language: str) -> None:
    templates = Templates()
    business = templates.render("sla_alert", [language], context(language, "breach"))
    calendar = templates.render(
        "sla_alert", [language], context(language, "breach", "resolution", business_time=False)
    )
    if language == "en":
        assert "first response within 4 h of business time" in business.text
        assert "Overdue:  5 min (business hours)" in business.text
        assert "Answer the customer to stop the clock." in business.text
        assert "resolution within 4 h\n" in calendar.text
        assert "business" not in calendar.text + calendar.html
        assert "Resolve the ticket to stop the clock." in calendar.text
    else:
        assert "respons pertama dalam 4 jam kerja" in business.text
        assert "Terlambat: 5 menit (jam kerja)" in business.text
        assert "Balas pelanggan untuk menghentikan hitungan waktu." in business.text
        assert "penyelesaian dalam 4 jam\n" in calendar.text
        assert "kerja" not in calendar.text + calendar.html
        assert "Selesaikan tiket ini" in calendar.text


@pytest.mark.parametrize("language", LANGUAGES)
def test_sparse_context_telegram_customer(language: str) -> None:
    """No name, no subject, no excerpt, a Telegram channel without an address."""
    sample = context(language, "escalation")
    sample["customer"] = {"name": "", "address": "123456789"}
    sample["message"] = {"subject": "", "excerpt": ""}
    sample["channel"] = {"name": "shop-bot", "address": ""}
    templates = Templates()
    assert templates.check(["sla_alert"], sample) == []
    mail = templates.render("sla_alert", [language], sample)
    chat = templates.render_markup("sla_alert", [language], sample, "telegram", escape)
    assert mail.subject.endswith("(123456789)")
    assert "()" not in mail.text + mail.html + chat.html
    assert "<>" not in mail.text and "&lt;&gt;" not in mail.html
    assert "<blockquote" not in mail.html + chat.html
    assert "\n\n\n" not in mail.text
    assert ("(no subject)" if language == "en" else "(tanpa subjek)") in mail.text
