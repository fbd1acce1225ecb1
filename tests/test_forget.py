"""Forgetting, pure (issue 18 item 7): what a forgotten customer's texts and names become."""

from __future__ import annotations

from responder.core.forget import (
    ERASED,
    customer_actor,
    erased_text,
    is_forgotten,
    names_them,
    placeholder,
)


def test_an_erased_staff_question_still_asks_so_the_sla_clock_reads_the_same() -> None:
    assert erased_text("Nomor pesanannya berapa, kak?") == ERASED + " ?"
    assert erased_text("Sudah kami kirim.") == ERASED
    assert erased_text(None) is None and erased_text("") == ""


def test_only_the_placeholder_is_forgotten_and_the_customers_events_name_them() -> None:
    assert is_forgotten(placeholder(3)) and not is_forgotten("budi@example.com")
    assert not is_forgotten("") and not is_forgotten(None)
    assert customer_actor("customer_reply", None) and customer_actor("email_left", "a@b.id")
    assert customer_actor("reopened", "the customer wrote")
    assert not customer_actor("reopened", None) and not customer_actor("staff_reply", "ok")
    assert names_them("Budi (tg:734501987)", {"734501987"})
    assert not names_them("Ani", {"budi@example.com", "Budi"}) and not names_them("", {"x"})
