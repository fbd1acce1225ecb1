"""WhatsApp's 24-hour window for automatic messages (issue 16, item 4): a survey due after the
customer last wrote over 24 hours ago goes as the approved template configured for it, in the
customer's language, and a press of its button answers it; without a template it is not sent,
and `status` and `report` say why. A message Meta delivers a day late is answered the same."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest

from responder.app.daemon import App
from responder.cli import EX_OK, main
from responder.testing import GraphStandIn, SentWhatsApp, TelegramStandIn, free_port
from responder.testing.whatsapp_webhooks import Webhooks
from tests.harness import (
    STAFF_GROUP,
    WA_NUMBER_ID,
    Clock,
    add_staff_bot,
    db_rows,
    local,
    post_signed,
    running,
    staff_answer,
    wait_sent,
    wait_until,
    write_whatsapp_config,
)

CUSTOMER = "6281234567890"
hooks = Webhooks(phone_number_id=WA_NUMBER_ID)
SURVEY_TEMPLATE = """\
    templates:
      csat_survey:
        name: toko_survey_v1
        languages: {id: id, en: en_US}
        parameters: [customer_name, ref]
        rating_buttons: [1, 2, 3, 4, 5]
"""
NO_TEMPLATE = (
    "the 24-hour reply window had closed and no template is set for csat_survey (the customer "
    "last wrote 25 hours ago)"
)


def config_with(
    tmp_path: Path, graph: GraphStandIn, tg: TelegramStandIn, port: int, **kw: str
) -> Path:
    config = write_whatsapp_config(tmp_path, graph.base_url, port, **kw)
    return add_staff_bot(config, tmp_path, tg)


async def closed_ticket(
    port: int, graph: GraphStandIn, tg: TelegramStandIn, clock: Clock, words: str
) -> str:
    """Budi writes (WhatsApp's timestamp: the clock's now), is acknowledged and answered,
    staff close the ticket; returns its reference."""
    await post_signed(port, hooks.text(CUSTOMER, words, name="Budi", at=clock.now.timestamp()))
    [relay] = await wait_sent(tg, STAFF_GROUP, 1)
    await graph.wait_for_sent_async(1, 10.0)  # the acknowledgement
    await staff_answer(tg, relay, "Sudah kami kirim ulang hari ini kak")
    await graph.wait_for_sent_async(2, 10.0)
    await staff_answer(tg, relay, "/close")
    await wait_sent(tg, STAFF_GROUP, 2)
    return str(relay.text).split("#", 1)[1][:6]


async def survey_due(app: App, clock: Clock, hours: int) -> None:
    clock.now += timedelta(hours=hours)
    assert app.surveys is not None
    await app.surveys.run_due()


@pytest.mark.parametrize(
    ("words", "hours", "kind", "code"),
    [
        ("My parcel has not arrived yet, could you check it please?", 25, "template", "en_US"),
        ("Paket saya belum sampai, tolong dicek ya kak", 25, "template", "id"),
        ("Paket saya belum sampai, tolong dicek ya kak", 2, "interactive", None),
    ],
    ids=["past-window-en", "past-window-id", "inside-window"],
)
async def test_a_late_survey_goes_as_its_template_and_a_press_of_its_button_answers_it(
    tmp_path: Path,
    graph: GraphStandIn,
    tg: TelegramStandIn,
    words: str,
    hours: int,
    kind: str,
    code: str | None,
) -> None:
    for language in ("id", "en_US"):
        graph.approve_template("toko_survey_v1", language, body=2, quick_replies=5)
    port = free_port()
    config = config_with(tmp_path, graph, tg, port, extra="csat: {}", channel_extra=SURVEY_TEMPLATE)
    clock = Clock(local(2030, 1, 7, 10, 0))
    async with running(config, clock=clock) as app:
        ref = await closed_ticket(port, graph, tg, clock, words)
        await survey_due(app, clock, hours)
        survey = (await graph.wait_for_sent_async(3, 10.0))[2]
        assert survey.type == kind
        if kind == "interactive":
            # Inside the window the free list of ratings goes, though a template is set.
            assert survey.payload["interactive"]["type"] == "list"
            return
        template = survey.payload["template"]
        assert (template["name"], template["language"]) == ("toko_survey_v1", {"code": code})
        body, *buttons = template["components"]
        assert body["parameters"] == [
            {"type": "text", "text": "Budi"},
            {"type": "text", "text": ref},
        ]
        payloads = [b["parameters"][0]["payload"] for b in buttons]
        assert [b["index"] for b in buttons] == ["0", "1", "2", "3", "4"]
        # Budi presses the fourth button, hours later still.
        clock.now += timedelta(hours=3)
        press = hooks.quick_reply(
            CUSTOMER,
            payloads[3],
            "Puas" if code == "id" else "Good",
            name="Budi",
            at=clock.now.timestamp(),
            context=survey.wamid,
        )
        await post_signed(port, press)

        async def rated() -> bool:
            [row] = await db_rows(config, "surveys")
            return bool(row["rating"] == 4)

        await wait_until(rated)
        thanks = (await graph.wait_for_sent_async(4, 10.0))[3]
    [row] = await db_rows(config, "surveys")
    assert (row["state"], row["answered_via"]) == ("answered", "whatsapp")
    # The press opened the window again: the thanks is a free message, not a template.
    assert thanks.type == "text"
    assert len(await db_rows(config, "tickets")) == 1  # a press is no new question


async def test_without_a_template_a_late_survey_is_not_sent_and_status_and_report_say_why(
    tmp_path: Path,
    graph: GraphStandIn,
    tg: TelegramStandIn,
    capsys: pytest.CaptureFixture[str],
) -> None:
    port = free_port()
    config = config_with(tmp_path, graph, tg, port, extra="csat: {}")
    clock = Clock(local(2030, 1, 7, 10, 0))
    async with running(config, clock=clock) as app:
        ref = await closed_ticket(port, graph, tg, clock, "Paket saya belum sampai kak")
        await survey_due(app, clock, 25)
        await asyncio.sleep(0.3)
    assert [s.type for s in graph.sent] == ["text", "text"]  # the acknowledgement, the answer
    [row] = await db_rows(config, "surveys")
    assert (row["state"], row["reason"]) == ("skipped", NO_TEMPLATE)
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["status", "-c", str(config)]) == EX_OK
    out = capsys.readouterr().out
    assert f"  not sent:      {ref} on shop-wa at 2030-01-08 11:00: {NO_TEMPLATE}\n" in out
    period = ["--since", "2030-01-01", "--until", "2030-01-31"]
    assert await asyncio.to_thread(main, ["report", "-c", str(config), *period]) == EX_OK
    out = capsys.readouterr().out
    [line] = [x for x in out.splitlines() if "reply window had closed" in x]
    # Counted by the reason's sentence; how long ago is left out.
    assert line.split("│")[1:3] == [
        " 1       ",
        " the 24-hour reply window had closed and no template is set for csat_survey ",
    ]


@pytest.mark.parametrize("template", [True, False], ids=["ack-template", "no-template"])
async def test_a_message_meta_delivers_a_day_late_is_answered_by_template_or_not_at_all(
    tmp_path: Path, graph: GraphStandIn, tg: TelegramStandIn, template: bool
) -> None:
    graph.approve_template("toko_ack", "id", body=1)
    port = free_port()
    extra = "    templates: {acknowledgement: {name: toko_ack, parameters: [ref]}}\n"
    config = config_with(tmp_path, graph, tg, port, channel_extra=extra if template else "")
    clock = Clock(local(2030, 1, 8, 11, 0))
    # Meta retried it for 30 hours while we were down: its timestamp is the customer's.
    written = (clock.now - timedelta(hours=30)).timestamp()
    async with running(config, clock=clock):
        await post_signed(port, hooks.text(CUSTOMER, "Halo kak", name="Budi", at=written))
        await wait_sent(tg, STAFF_GROUP, 1)  # staff see it all the same
        sent = await _sent_or_nothing(graph, template)
    [reply] = await db_rows(config, "replies", kind="acknowledgement")
    [ticket] = await db_rows(config, "tickets")
    if template:
        assert [s.type for s in sent] == ["template"]
        assert sent[0].payload["template"]["components"] == [
            {"type": "body", "parameters": [{"type": "text", "text": ticket["ref"]}]}
        ]
        assert reply["state"] == "sent"
    else:
        assert sent == []
        assert (reply["state"], reply["last_error"]) == (
            "expired",
            "the 24-hour reply window had closed and no template is set for acknowledgement "
            "(the customer last wrote 30 hours ago)",
        )


async def _sent_or_nothing(graph: GraphStandIn, expected: bool) -> list[SentWhatsApp]:
    if expected:
        return await graph.wait_for_sent_async(1, 10.0)
    await asyncio.sleep(0.5)
    return list(graph.sent)
