"""SendSchedule against a fake clock: the Bots FAQ's limits, with no real sleeping."""

from __future__ import annotations

import pytest

from responder.channels.telegram.limits import Limits, SendSchedule

GROUP = -100123


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def schedule(clock: FakeClock) -> SendSchedule:
    return SendSchedule(Limits(), clock=clock)


def test_first_message_goes_at_once(schedule: SendSchedule) -> None:
    assert schedule.reserve(42, group=False) == 0.0


def test_second_message_to_same_chat_waits_one_second(schedule: SendSchedule) -> None:
    schedule.reserve(42, group=False)
    assert schedule.reserve(42, group=False) == pytest.approx(1.0)
    assert schedule.reserve(42, group=False) == pytest.approx(2.0)


def test_different_chats_are_spaced_by_the_global_rate_only(schedule: SendSchedule) -> None:
    waits = [schedule.reserve(chat, group=False) for chat in (1, 2, 3, 4)]
    assert waits == pytest.approx([0.0, 1 / 30, 2 / 30, 3 / 30])


def test_thirty_one_chats_at_once_the_last_waits_a_second(schedule: SendSchedule) -> None:
    waits = [schedule.reserve(chat, group=False) for chat in range(1, 32)]
    assert waits[29] == pytest.approx(29 / 30)
    assert waits[30] == pytest.approx(1.0)


def test_a_waiting_chat_does_not_hold_up_other_chats(schedule: SendSchedule) -> None:
    schedule.reserve(1, group=False)
    assert schedule.reserve(1, group=False) == pytest.approx(1.0)
    # Chat 2 fits into the gap right after chat 1's first slot, not behind its second.
    assert schedule.reserve(2, group=False) == pytest.approx(1 / 30)


def test_global_slots_near_a_booked_slot_are_pushed_past_it(schedule: SendSchedule) -> None:
    schedule.reserve(1, group=False)  # t=0
    schedule.reserve(1, group=False)  # t=1.0
    schedule.reserve(2, group=False)  # t=1/30
    # Chat 2's next message is due at 1/30 + 1.0, which collides with chat 1's slot at 1.0.
    assert schedule.reserve(2, group=False) == pytest.approx(1.0 + 1 / 30)
    assert schedule.reserve(3, group=False) == pytest.approx(2 / 30)


def test_group_gets_twenty_per_minute(schedule: SendSchedule) -> None:
    waits = [schedule.reserve(GROUP, group=True) for _ in range(21)]
    assert waits[:20] == pytest.approx([float(i) for i in range(20)])
    assert waits[20] == pytest.approx(60.0)
    # The window slides: the 22nd goes a minute after the 2nd.
    assert schedule.reserve(GROUP, group=True) == pytest.approx(61.0)


def test_group_window_is_not_applied_to_private_chats(schedule: SendSchedule) -> None:
    waits = [schedule.reserve(42, group=False) for _ in range(21)]
    assert waits[20] == pytest.approx(20.0)


def test_group_window_slides_with_the_clock(clock: FakeClock, schedule: SendSchedule) -> None:
    for _ in range(20):
        schedule.reserve(GROUP, group=True)  # slots 0..19
    clock.now += 30.0
    # Twenty slots within the last minute: the next waits for the first to age out.
    assert schedule.reserve(GROUP, group=True) == pytest.approx(30.0)
    clock.now += 100.0
    assert schedule.reserve(GROUP, group=True) == 0.0


@pytest.mark.parametrize(
    ("paused_chat", "chat", "expected"),
    [
        (None, 42, 5.0),
        (None, 7, 5.0),
        (42, 42, 5.0),
        (42, 7, 0.0),
    ],
)
def test_pause(schedule: SendSchedule, paused_chat: int | None, chat: int, expected: float) -> None:
    schedule.pause(5, paused_chat)
    assert schedule.reserve(chat, group=False) == pytest.approx(expected)


def test_pause_does_not_shorten_a_later_reservation(schedule: SendSchedule) -> None:
    for _ in range(10):
        schedule.reserve(42, group=False)  # next free slot for chat 42: t=10
    schedule.pause(2, 42)
    assert schedule.reserve(42, group=False) == pytest.approx(10.0)


def test_global_pause_lets_the_queue_resume_at_the_global_rate(schedule: SendSchedule) -> None:
    schedule.pause(5)
    waits = [schedule.reserve(chat, group=False) for chat in (1, 2, 3)]
    assert waits == pytest.approx([5.0, 5.0 + 1 / 30, 5.0 + 2 / 30])


def test_negative_pause_is_rejected(schedule: SendSchedule) -> None:
    with pytest.raises(ValueError, match="non-negative finite seconds"):
        schedule.pause(-1)


def test_waits_return_to_zero_once_the_clock_passes_the_slots(
    clock: FakeClock, schedule: SendSchedule
) -> None:
    for chat in range(1, 32):
        schedule.reserve(chat, group=False)
    schedule.reserve(1, group=False)
    clock.now += 5.0
    assert [schedule.reserve(chat, group=False) for chat in (1, 31, 99)] == pytest.approx(
        [0.0, 1 / 30, 2 / 30]
    )
    clock.now += 5.0
    assert schedule.reserve(1, group=False) == 0.0


def test_string_and_int_ids_are_the_same_chat(schedule: SendSchedule) -> None:
    schedule.reserve(-100123, group=True)
    assert schedule.reserve("-100123", group=True) == pytest.approx(1.0)


def test_pruning_keeps_the_chat_table_bounded(clock: FakeClock, schedule: SendSchedule) -> None:
    peak = 0
    for chat in range(1, 10_001):
        # One message every 0.1 s, each to a new chat; every tenth chat is a group.
        clock.now += 0.1
        is_group = chat % 10 == 0
        assert schedule.reserve(-chat if is_group else chat, group=is_group) == 0.0
        peak = max(peak, schedule.tracked_chats)
    # Groups are remembered for a minute (60 of them), private chats for a second (about 10),
    # plus up to 256 new chats between prunes.
    assert peak < 400
    assert schedule.tracked_chats < 400


@pytest.mark.parametrize(
    "kwargs",
    [
        {"per_chat_interval": 0},
        {"per_chat_interval": -1.0},
        {"global_per_second": 0},
        {"global_per_second": float("nan")},
        {"global_per_second": float("inf")},
        {"group_per_minute": 0},
    ],
)
def test_invalid_limits_raise(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        Limits(**kwargs)  # type: ignore[arg-type]


def test_custom_limits_apply(clock: FakeClock) -> None:
    schedule = SendSchedule(Limits(per_chat_interval=3.0, global_per_second=2.0), clock=clock)
    assert [schedule.reserve(1, group=False) for _ in range(2)] == pytest.approx([0.0, 3.0])
    assert schedule.reserve(2, group=False) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("chat_id", "expected"),
    [
        (-100123, True),
        (-42, True),
        ("@channel", True),
        ("-100123", True),
        (42, False),
        ("42", False),
    ],
)
def test_is_group(chat_id: int | str, expected: bool) -> None:
    assert SendSchedule.is_group(chat_id) is expected
