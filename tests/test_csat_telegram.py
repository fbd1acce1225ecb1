"""Surveys in Telegram against the Bot API stand-in: buttons after /close, the press confirmed
in place (then the 0-10 question), a low rating told to the staff group, and /reopen before
the survey goes cancelling it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from responder.app.daemon import App
from responder.testing import SentMessage, TelegramStandIn
from tests.harness import (
    STAFF_GROUP,
    TG_CUSTOMER,
    Clock,
    db_rows,
    local,
    running,
    sent_to,
    shown,
    staff_answer,
    wait_sent,
    wait_until,
    write_telegram_config,
)

CUSTOMER = TG_CUSTOMER
FAST = "    limits: {per_chat_interval: 50ms, group_per_minute: 1000}"


async def answered_and_closed(app: App, tg: TelegramStandIn, config: Path) -> SentMessage:
    tg.push_message(CUSTOMER, "Kak, paket saya belum sampai", first_name="Budi")
    [relay] = await wait_sent(tg, STAFF_GROUP, 1)
    await staff_answer(tg, relay, "Sudah kami kirim ulang hari ini kak")
    await wait_sent(tg, CUSTOMER, 2)  # the acknowledgement and the answer
    await staff_answer(tg, relay, "/close")

    async def resolved() -> bool:
        return [t["status"] for t in await db_rows(config, "tickets")] == ["resolved"]

    await wait_until(resolved)
    return relay


async def surveyed(app: App, tg: TelegramStandIn, config: Path, clock: Clock) -> SentMessage:
    """A ticket answered and closed, and its survey sent an hour later; returns the survey."""
    await answered_and_closed(app, tg, config)
    assert app.surveys is not None
    clock.now += timedelta(hours=1)
    await app.surveys.run_due()
    return (await wait_sent(tg, CUSTOMER, 3))[2]


async def survey_state(config: Path) -> dict[str, object]:
    [survey] = await db_rows(config, "surveys")
    return survey


async def test_buttons_rate_the_ticket_and_the_press_is_confirmed_in_place(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    extra = "csat:\n  nps: true\n  low: 2\n"
    config = write_telegram_config(tmp_path, tg.base_url, extra=extra, channel_extra=FAST)
    clock = Clock(local(2030, 1, 7, 10, 0))
    async with running(config, clock=clock) as app:
        survey = await surveyed(app, tg, config, clock)
        shown_now = tg.message(CUSTOMER, survey.message_id)
        assert [label for label, _ in shown_now.buttons[0]] == ["1", "2", "3", "4", "5"]
        assert "Halo Budi" in shown(survey) and "1 buruk, 5 sangat baik" in shown(survey)
        # Budi presses 2: recorded, the message now asks the 0-10 question in place.
        tg.push_callback(CUSTOMER, shown_now.buttons[0][1][1], first_name="Budi")

        async def rated() -> bool:
            return (await survey_state(config))["rating"] == 2

        await wait_until(rated)

        async def edited(times: int) -> bool:
            return tg.message(CUSTOMER, survey.message_id).edits == times

        await wait_until(lambda: edited(1))
        asked = tg.message(CUSTOMER, survey.message_id)
        assert "2/5" in (asked.text or "") and "0 sampai 10" in (asked.text or "")
        labels = [label for row in asked.buttons for label, _ in row]
        assert labels == [str(n) for n in range(11)]
        # A low rating: the staff group hears of it in the ticket's place.
        notices = await wait_sent(tg, STAFF_GROUP, 3)  # the relay, "closed", and this
        assert "Nilai rendah" in shown(notices[-1]) and "2/5" in shown(notices[-1])
        # Then 9 out of 10: stored beside the rating, the buttons go away.
        nine = next(data for row in asked.buttons for label, data in row if label == "9")
        tg.push_callback(CUSTOMER, nine, first_name="Budi")
        await wait_until(lambda: edited(2))
    final = tg.message(CUSTOMER, survey.message_id)
    assert final.buttons == () and "Terima kasih" in (final.text or "")
    survey_row = await survey_state(config)
    assert (survey_row["rating"], survey_row["nps"], survey_row["answered_via"]) == (
        2,
        9,
        "telegram",
    )
    assert [a.get("text") for a in tg.answered_callbacks] == ["Terima kasih!", "Terima kasih!"]
    # One survey message, edited twice: nothing new was sent to the customer.
    methods = [m.method for m in sent_to(tg, CUSTOMER)]
    assert methods == ["sendMessage", "copyMessage", "sendMessage", *["editMessageText"] * 2]
    # A button press is not a message from the customer: no new ticket, no acknowledgement.
    assert len(await db_rows(config, "tickets")) == 1


async def test_reopen_before_the_survey_cancels_it(tmp_path: Path, tg: TelegramStandIn) -> None:
    config = write_telegram_config(tmp_path, tg.base_url, extra="csat: {}\n", channel_extra=FAST)
    clock = Clock(local(2030, 1, 7, 10, 0))
    async with running(config, clock=clock) as app:
        relay = await answered_and_closed(app, tg, config)
        assert (await survey_state(config))["state"] == "planned"
        clock.now += timedelta(minutes=20)
        await staff_answer(tg, relay, "/reopen")

        async def cancelled() -> bool:
            return (await survey_state(config))["state"] == "cancelled"

        await wait_until(cancelled)
        clock.now += timedelta(hours=2)
        assert app.surveys is not None
        await app.surveys.run_due()
    assert len(sent_to(tg, CUSTOMER)) == 2  # the acknowledgement and the staff answer


async def test_a_press_after_the_survey_closed_is_answered_and_not_recorded(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    config = write_telegram_config(tmp_path, tg.base_url, extra="csat: {}\n", channel_extra=FAST)
    clock = Clock(local(2030, 1, 7, 10, 0))
    async with running(config, clock=clock) as app:
        survey = await surveyed(app, tg, config, clock)
        # Three weeks later Budi finds the message and presses 5.
        clock.now += timedelta(days=21)
        five = tg.message(CUSTOMER, survey.message_id).buttons[0][4][1]
        tg.push_callback(CUSTOMER, five, first_name="Budi")

        async def answered() -> bool:
            return bool(tg.answered_callbacks)

        await wait_until(answered)
    assert tg.answered_callbacks[0].get("text") == "Survei ini sudah ditutup."
    assert (await survey_state(config))["rating"] is None
    rules = [s["rule"] for s in await db_rows(config, "suppressions")]
    assert rules == ["survey-closed"]


async def test_a_reply_to_the_survey_is_its_comment_and_staff_hear_it_with_the_rating(
    tmp_path: Path, tg: TelegramStandIn
) -> None:
    config = write_telegram_config(tmp_path, tg.base_url, extra="csat: {}\n", channel_extra=FAST)
    clock = Clock(local(2030, 1, 7, 10, 0))
    async with running(config, clock=clock) as app:
        survey = await surveyed(app, tg, config, clock)
        one = tg.message(CUSTOMER, survey.message_id).buttons[0][0][1]
        tg.push_callback(CUSTOMER, one, first_name="Budi")
        first = (await wait_sent(tg, STAFF_GROUP, 3))[-1]
        assert "Nilai rendah" in shown(first) and "Tanpa komentar" in shown(first)

        # The thanks (an edit in the customer's chat) and the staff post go out on separate
        # chats, in parallel: either may land first.
        async def thanked() -> bool:
            return "Balas pesan ini" in (tg.message(CUSTOMER, survey.message_id).text or "")

        await wait_until(thanked, timeout=5.0)
        # Budi replies to the survey message with what went wrong.
        tg.push_message(
            CUSTOMER,
            "Kurirnya lama sekali, 5 hari baru sampai",
            first_name="Budi",
            reply_to_message_id=survey.message_id,
        )
        second = (await wait_sent(tg, STAFF_GROUP, 4))[-1]
        noted = (await wait_sent(tg, CUSTOMER, 5))[-1]
    assert "5 hari baru sampai" in shown(second) and "1/5" in shown(second)
    assert "Terima kasih atas masukan" in shown(noted)
    survey_row = await survey_state(config)
    assert (survey_row["rating"], survey_row["comment"]) == (
        1,
        "Kurirnya lama sekali, 5 hari baru sampai",
    )
    # Feedback, not a new question: no new ticket, no acknowledgement.
    assert len(await db_rows(config, "tickets")) == 1
