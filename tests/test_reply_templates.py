"""The shipped out-of-hours, welcome, hours and payment templates, in both languages."""

from __future__ import annotations

from typing import Any

import pytest

from responder.core.templates import Templates

NAMES = ["out_of_hours", "welcome", "hours", "payment"]


def context(**extra: Any) -> dict[str, Any]:
    """The acknowledgement context (dispatch.render_context) plus the out-of-hours keys."""
    base: dict[str, Any] = {
        "ticket": {"ref": "ABC234"},
        "customer": {"name": "Budi", "address": "budi@example.com"},
        "message": {"subject": "Pesanan", "excerpt": ""},
        "business": {"name": "Toko Contoh", "address": "support@toko-contoh.id"},
        "channel": {"name": "support-mail", "address": "support@toko-contoh.id"},
        "next_open": {"text": "Senin, 24 November pukul 08.00 WIB", "iso": "2025-11-24T08:00"},
        "holiday": None,
        "hours": [{"day": "Senin", "periods": "08.00-12.00, 13.00-17.00"}],
    }
    base.update(extra)
    return base


def test_every_part_renders_in_both_languages() -> None:
    templates = Templates()
    assert templates.check(NAMES, context()) == []
    assert templates.check(NAMES, context(next_open=None, holiday={"name": "Nyepi"})) == []


def test_out_of_hours_with_a_holiday() -> None:
    holiday = {"name": "Hari Raya Idul Fitri"}
    templates = Templates()
    indonesian = templates.render("out_of_hours", ["id"], context(holiday=holiday))
    assert "tutup karena libur Hari Raya Idul Fitri" in indonesian.text
    assert "Kami buka kembali pada Senin, 24 November pukul 08.00 WIB" in indonesian.text
    assert "Nomor tiket Anda: ABC234" in indonesian.text
    assert indonesian.subject == "Re: Pesanan [#ABC234]"
    assert "<strong>Senin, 24 November pukul 08.00 WIB</strong>" in indonesian.html
    english = templates.render(
        "out_of_hours",
        ["en"],
        context(next_open={"text": "Monday 24 November at 08:00 WIB", "iso": "x"}, holiday=holiday),
    )
    assert "we are closed for Hari Raya Idul Fitri" in english.text
    assert "We open again on Monday 24 November at 08:00 WIB" in english.text
    assert "Your ticket reference is ABC234" in english.text
    assert "Hari Raya Idul Fitri" in english.html


@pytest.mark.parametrize(
    "language, closed, later",
    [
        ("id", "saat ini kami sedang tutup", "Tim kami akan membalas pesan Anda secepatnya"),
        ("en", "we are closed at the moment", "A person will answer you as soon as we can"),
    ],
)
def test_out_of_hours_when_the_shop_never_opens(language: str, closed: str, later: str) -> None:
    rendered = Templates().render(
        "out_of_hours", [language], context(next_open=None, message={"subject": "", "excerpt": ""})
    )
    assert closed in rendered.text and later in rendered.text
    assert "ABC234" in rendered.text and "[#ABC234]" in rendered.subject
    assert "buka kembali" not in rendered.text and "open again" not in rendered.text


def test_customer_and_holiday_text_is_escaped_in_html() -> None:
    rendered = Templates().render(
        "out_of_hours",
        ["en"],
        context(
            customer={"name": "<script>x</script>", "address": "a@b"},
            holiday={"name": "<b>Nyepi</b>"},
        ),
    )
    assert "<script>" not in rendered.html and "&lt;script&gt;" in rendered.html
    assert "&lt;b&gt;Nyepi&lt;/b&gt;" in rendered.html


def test_hours_table_and_closed_days() -> None:
    hours = [
        {"day": "Senin", "periods": "08.00-12.00, 13.00-17.00"},
        {"day": "Minggu", "periods": ""},
    ]
    rendered = Templates().render("hours", ["id"], context(hours=hours))
    assert "  Senin: 08.00-12.00, 13.00-17.00\n  Minggu: tutup\n" in rendered.text
    assert "<td>tutup</td>" in rendered.html
    english = Templates().render("hours", ["en"], context(hours=[], message={"subject": ""}))
    assert "no fixed opening hours" in english.text
    assert english.subject == "Our opening hours [#ABC234]"


def test_payment_details_only_when_configured() -> None:
    business = {
        "name": "Toko Contoh",
        "address": "support@toko-contoh.id",
        "payment": "BCA 1234567890\na.n. Toko <Contoh>",
    }
    templates = Templates()
    paid = templates.render("payment", ["id"], context(business=business))
    assert "BCA 1234567890\na.n. Toko <Contoh>" in paid.text
    assert "a.n. Toko &lt;Contoh&gt;" in paid.html
    # No payment text configured: StrictUndefined must not explode; a person follows up.
    unpaid = templates.render("payment", ["en"], context())
    assert "A person will send you our payment" in unpaid.text


def test_welcome_is_short_and_needs_no_ticket() -> None:
    rendered = Templates().render(
        "welcome", ["id"], {"customer": {"name": ""}, "business": {"name": "Toko Contoh"}}
    )
    assert rendered.subject == "Selamat datang di Toko Contoh"
    assert rendered.text.startswith("Halo, selamat datang di Toko Contoh!")
    assert len(rendered.text) < 300
