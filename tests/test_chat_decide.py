"""Telegram chat messages, table-driven: what an update parses to, and what deciding does with it
on the customer side (open, join, hold back a reply) and in the staff group (answers, commands)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import TypeAdapter

from responder.config.rules import DEFAULT_RULES, Action, RulesConfig
from responder.core.decide import Policy, decide
from responder.core.decisions import (
    OPEN,
    Acknowledge,
    Decision,
    FollowUp,
    Moment,
    Record,
    StaffCommand,
    StaffReply,
    Suppress,
    Welcome,
)
from responder.core.guards import GuardContext
from responder.core.tickets import new_ref
from responder.core.view import TicketInfo, View
from responder.domain.message import Message
from responder.wire.telegram.message import to_message
from responder.wire.telegram.update import ChatMessage, parse_update
from responder.wire.webchat.record import VisitorMessage
from responder.wire.webchat.wire import WEBCHAT

CUSTOMER = 4242  # the customer's user id, which is also their private chat's id
STAFF_CHAT = -100999
STAFF_USER = 777
REF = "ABC234"
NEW_REF = "NEW567"
CLOSED = Moment(False, None, "p1")


def update(
    msg: dict[str, Any] | None = None,
    *,
    kind: str = "message",
    staff: bool | None = None,
    update_id: int = 1,
) -> bytes:
    """A recorded update as the channel stores it: one message kind, maybe the annotation."""
    data: dict[str, Any] = {"update_id": update_id, kind: msg if msg is not None else message()}
    if staff is not None:
        data["_responder"] = {"staff": staff}
    return json.dumps(data).encode()


def message(text: str | None = "Halo, pesanan saya belum sampai", **extra: Any) -> dict[str, Any]:
    """A private text message from the customer; `extra` replaces or adds message fields."""
    msg: dict[str, Any] = {
        "message_id": 10,
        "date": 1_700_000_000,
        "chat": {"id": CUSTOMER, "type": "private", "first_name": "Budi"},
        "from": {
            "id": CUSTOMER,
            "is_bot": False,
            "first_name": "Budi",
            "last_name": "Santoso",
            "username": "BudiS",
            "language_code": "id",
        },
    }
    if text is not None:
        msg["text"] = text
    msg.update(extra)
    return msg


def staff_message(text: str | None = "Sudah kami kirim hari ini", **extra: Any) -> dict[str, Any]:
    """A message in the staff group, from a staff member."""
    fields: dict[str, Any] = {
        "chat": {"id": STAFF_CHAT, "type": "supergroup", "title": "Staff"},
        "from": {"id": STAFF_USER, "is_bot": False, "first_name": "Sari"},
    }
    fields.update(extra)
    return message(text, **fields)


def parsed(msg: dict[str, Any] | None = None, **kwargs: Any) -> ChatMessage:
    return parse_update(update(msg, **kwargs))


# --- parse_update ----------------------------------------------------------------------------


def test_private_text_message() -> None:
    msg = parsed()
    assert msg.update_id == 1
    assert msg.kind == "message"
    assert msg.chat_id == CUSTOMER
    assert msg.chat_type == "private"
    assert msg.message_id == 10
    assert msg.user_id == CUSTOMER
    assert not msg.is_bot
    assert msg.first_name == "Budi"
    assert msg.last_name == "Santoso"
    assert msg.name == "Budi Santoso"
    assert msg.username == "BudiS"
    assert msg.language_code == "id"
    assert msg.text == "Halo, pesanan saya belum sampai"
    assert msg.media is None
    assert msg.command is None
    assert msg.reply_to is None
    assert msg.thread_id is None
    assert not msg.is_service
    assert not msg.is_staff
    assert msg.customer == str(CUSTOMER)
    assert msg.date == datetime.fromtimestamp(1_700_000_000, UTC)


PHOTO = [{"file_id": "p1", "file_unique_id": "u1", "width": 90, "height": 90}]
VOICE = {"file_id": "v1", "file_unique_id": "u2", "duration": 3}


@pytest.mark.parametrize(
    "msg, media, text, is_service",
    [
        (message(None, photo=PHOTO, caption="Barangnya rusak"), "photo", "Barangnya rusak", False),
        (message(None, voice=VOICE), "voice", "", False),
        (message(None, sticker={"file_id": "s"}), "sticker", "", False),
        (message(None, location={"latitude": -6.2, "longitude": 106.8}), "location", "", False),
        (message(None, photo=[]), None, "", True),  # an empty list is no photo
        (message(None, new_chat_members=[{"id": 5, "is_bot": False}]), None, "", True),
        (message(None, pinned_message={"message_id": 3}), None, "", True),
        (message(""), None, "", True),
    ],
    ids=[
        "photo-caption",
        "voice-no-caption",
        "sticker",
        "location",
        "empty-photo",
        "new-members",
        "pin",
        "empty-text",
    ],
)
def test_media_and_service(
    msg: dict[str, Any], media: str | None, text: str, is_service: bool
) -> None:
    parsed_msg = parsed(msg)
    assert parsed_msg.media == media
    assert parsed_msg.text == text
    assert parsed_msg.is_service is is_service


@pytest.mark.parametrize(
    "card, phone",
    [
        (
            {"phone_number": "+6281234567890", "first_name": "Budi", "user_id": CUSTOMER},
            "+6281234567890",
        ),
        ({"phone_number": "+6281100002222", "first_name": "Ani", "user_id": 7007}, None),
        ({"phone_number": "+6281100002222", "first_name": "Ani"}, None),  # no Telegram user
        ({"first_name": "Budi", "user_id": CUSTOMER}, None),
    ],
    ids=["own-number", "a-friends-card", "a-card-of-nobody-on-telegram", "no-number"],
)
def test_only_the_senders_own_shared_number_is_theirs(
    card: dict[str, Any], phone: str | None
) -> None:
    assert parsed(message(None, contact=card)).phone == phone
    assert to_message(parsed(message(None, contact=card))).phone == phone


@pytest.mark.parametrize(
    "raw, kind",
    [
        (update(kind="edited_message"), "edited_message"),
        (update(kind="channel_post"), "channel_post"),
        (update(kind="edited_channel_post"), "edited_channel_post"),
        (json.dumps({"update_id": 3, "callback_query": {"id": "q"}}).encode(), "callback_query"),
        (json.dumps({"update_id": 3, "my_chat_member": {}}).encode(), "my_chat_member"),
        (json.dumps({"update_id": 3, "_responder": {"staff": True}}).encode(), "unknown"),
    ],
    ids=["edited", "channel-post", "edited-channel-post", "callback", "chat-member", "empty"],
)
def test_update_kinds(raw: bytes, kind: str) -> None:
    assert parse_update(raw).kind == kind


def test_edited_message_keeps_its_content() -> None:
    msg = parsed(message("diralat"), kind="edited_message")
    assert (msg.kind, msg.chat_id, msg.text) == ("edited_message", CUSTOMER, "diralat")


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"\xff\xfe\x00garbage",
        b"[]",
        b'"a string"',
        b"42",
        b"null",
        b'{"message": {"text": "hi"}}',
        b'{"update_id": "abc", "message": {}}',
        b'{"update_id": null}',
        b'{"update_id": [1]}',
        b'{"update_id": NaN}',
    ],
    ids=[
        "empty",
        "text",
        "bad-utf8",
        "list",
        "string",
        "number",
        "null",
        "no-update-id",
        "update-id-word",
        "update-id-null",
        "update-id-list",
        "update-id-nan",
    ],
)
def test_unreadable_is_invalid(raw: bytes) -> None:
    msg = parse_update(raw)
    assert (msg.kind, msg.update_id) == ("invalid", 0)


@pytest.mark.parametrize(
    "msg",
    [
        message("hi", chat="not a dict", **{"from": 5}),
        message("hi", reply_to_message="x", message_id="10", date="yesterday"),
        message(["not", "text"], caption={"nor": "this"}),
        {"text": "hi"},
    ],
    ids=["wrong-chat-and-from", "wrong-reply-id-date", "wrong-text", "bare"],
)
def test_odd_fields_are_tolerated(msg: dict[str, Any]) -> None:
    parsed_msg = parsed(msg)
    assert parsed_msg.kind == "message"
    assert parsed_msg.date is None or isinstance(parsed_msg.date, datetime)


def test_infinite_update_id_is_invalid() -> None:
    assert parse_update(b'{"update_id": Infinity}').kind == "invalid"


@pytest.mark.parametrize("date", [10**20, -(10**14)], ids=["far-future", "far-past"])
def test_out_of_range_date_never_raises(date: int) -> None:
    msg = parsed(message("hi", date=date))
    assert msg.kind == "message"
    assert msg.date is None


@pytest.mark.parametrize(
    "text, command, args",
    [
        ("/start", "/start", ""),
        ("/START", "/start", ""),
        ("/start@shop_bot", "/start", ""),
        ("/close@shop_bot ABC234", "/close", "ABC234"),
        ("/note   call back tomorrow  ", "/note", "call back tomorrow"),
        ("/my_orders", "/my_orders", ""),
        ("/ not a command", None, ""),
        ("/", None, ""),
        ("/-x", None, ""),
        ("a /start in the middle", None, ""),
        (" /start", None, ""),
        ("https://example.com/start", None, ""),
    ],
    ids=[
        "start",
        "uppercase",
        "addressed",
        "addressed-args",
        "args-stripped",
        "underscore",
        "slash-space",
        "slash-only",
        "punctuation",
        "mid-text",
        "leading-space",
        "url",
    ],
)
def test_commands(text: str, command: str | None, args: str) -> None:
    msg = parsed(message(text))
    assert (msg.command, msg.args) == (command, args)
    assert msg.text == text  # the text itself is kept whole


def test_caption_is_never_a_command() -> None:
    msg = parsed(message(None, photo=PHOTO, caption="/close"))
    assert (msg.text, msg.command) == ("/close", None)


def test_command_ended_by_newline() -> None:
    msg = parsed(message("/note\ncall back tomorrow"))
    assert (msg.command, msg.args) == ("/note", "call back tomorrow")


@pytest.mark.parametrize(
    "extra, thread_id",
    [
        ({"is_topic_message": True, "message_thread_id": 77}, 77),
        ({"message_thread_id": 77}, None),  # a reply thread in a plain group, not a topic
        ({"is_topic_message": False, "message_thread_id": 77}, None),
        ({"is_topic_message": True}, None),
        ({"is_topic_message": True, "message_thread_id": "77"}, None),
    ],
    ids=["topic", "thread-not-topic", "topic-false", "topic-no-id", "topic-id-string"],
)
def test_forum_topic(extra: dict[str, Any], thread_id: int | None) -> None:
    assert parsed(message("hi", **extra)).thread_id == thread_id


def test_reply_to() -> None:
    msg = parsed(message("hi", reply_to_message={"message_id": 501, "text": "earlier"}))
    assert msg.reply_to == 501


@pytest.mark.parametrize(
    "staff, is_staff",
    [(True, True), (False, False), (None, False)],
    ids=["member", "not-member", "not-annotated"],
)
def test_staff_annotation(staff: bool | None, is_staff: bool) -> None:
    assert parsed(staff=staff).is_staff is is_staff


@pytest.mark.parametrize(
    "user, sender",
    [
        ({"id": 5, "username": "Budi_S"}, "@budi_s"),
        ({"id": 5, "username": "budi"}, "@budi"),
        ({"id": 5}, "5"),
        ({"id": 5, "username": ""}, "5"),
        ({}, ""),
    ],
    ids=["username-lowercased", "username", "id-only", "empty-username", "no-user"],
)
def test_sender(user: dict[str, Any], sender: str) -> None:
    assert parsed(message("hi", **{"from": user})).sender == sender


def test_long_names_are_cut() -> None:
    user = {"id": 5, "first_name": "A" * 500, "last_name": "B" * 500, "username": "c" * 200}
    msg = parsed(message("hi", **{"from": user}))
    assert (len(msg.first_name), len(msg.last_name), len(msg.username)) == (100, 100, 64)


# --- decide_chat: customers ------------------------------------------------------------------


def rules(*data: dict[str, Any]) -> RulesConfig:
    return TypeAdapter(RulesConfig).validate_python(list(data))


DEFAULT_ACTION = DEFAULT_RULES[0].then
QUIET_RULES = rules(
    {"name": "quiet", "when": {"body_contains": ["unsubscribe"]}, "then": {"template": "none"}},
    {"name": "harga", "when": {"body_contains": ["harga"]}, "then": {"template": "price-list"}},
    {"name": "vip", "when": {"vip": True}, "then": {"priority": "high"}},
    {"name": "default"},
)


def policy(rules_config: RulesConfig = DEFAULT_RULES, **changes: Any) -> Policy:
    fields: dict[str, Any] = {
        "channel": "tg-shop",
        "guard": GuardContext(frozenset(), frozenset()),
        "staff_chat": STAFF_CHAT,
        "max_replies": 3,
        "rules": rules_config,
    }
    fields.update(changes)
    return Policy(**fields)


def refs(*values: str) -> Callable[[], str]:
    it = iter(values)
    return lambda: next(it)


def decide_chat(
    msg: ChatMessage,
    pol: Policy,
    view: View,
    moment: Moment = OPEN,
    language: str | None = None,
    fresh: Callable[[], str] = new_ref,
) -> Decision:
    """The one decide, given an update as Telegram's wire module reads it."""
    return decide(to_message(msg), pol, view, moment, language, fresh)


def ack(
    template: str = "acknowledgement", rule: str = "default", action: Action = DEFAULT_ACTION
) -> Acknowledge:
    return Acknowledge(str(CUSTOMER), NEW_REF, template, rule, action)


def record(reason: str, rule: str = "default", action: Action = DEFAULT_ACTION) -> Record:
    return Record(str(CUSTOMER), NEW_REF, rule, action, reason)


# Reasons are for the log: a decision matches when its reason contains the expected words.
CAPPED = "3 automatic replies"
TOLD_CLOSED = "closed"
RULE_SAYS = "rule"


def assert_decision(actual: object, expected: object) -> None:
    if isinstance(expected, Suppress | Record):
        assert type(actual) is type(expected)
        assert isinstance(actual, Suppress | Record)
        assert expected.reason.lower() in actual.reason.lower(), actual.reason
        assert replace(actual, reason="") == replace(expected, reason="")
    else:
        assert actual == expected


@pytest.mark.parametrize(
    "raw, view, moment, pol, expected",
    [
        (update(), View(), OPEN, policy(), ack()),
        (update(), View(), CLOSED, policy(), ack("out_of_hours")),
        (update(), View(), Moment(False, "Lebaran", "p1"), policy(), ack("out_of_hours")),
        (update(), View(open_by_customer={str(CUSTOMER): REF}), OPEN, policy(), FollowUp(REF)),
        (
            update(message(None, photo=PHOTO)),
            View(open_by_customer={str(CUSTOMER): REF}),
            OPEN,
            policy(),
            FollowUp(REF),
        ),
        (update(message(None, voice=VOICE)), View(), OPEN, policy(), ack()),
        (update(message("/start")), View(), OPEN, policy(), Welcome(str(CUSTOMER))),
        (update(message("/start@shop_bot")), View(), OPEN, policy(), Welcome(str(CUSTOMER))),
        (update(message("/help")), View(), OPEN, policy(), ack()),  # a question all the same
        (
            update(message("hi", **{"from": {"id": 9, "is_bot": True}})),
            View(),
            OPEN,
            policy(),
            Suppress("bot", "sent by a bot"),
        ),
        (
            update(message("hi", chat={"id": -5, "type": "group"})),
            View(),
            OPEN,
            policy(),
            Suppress("not-private", "a message in a group chat"),
        ),
        (
            update(message("hi", chat={"id": -5, "type": "supergroup"})),
            View(),
            OPEN,
            policy(staff_chat=None),
            Suppress("not-private", "a message in a supergroup chat"),
        ),
        (
            update(message(None, new_chat_members=[{"id": 5}])),
            View(),
            OPEN,
            policy(),
            Suppress("service-message", "a service message, nobody wrote anything"),
        ),
        (
            update(kind="edited_message"),
            View(),
            OPEN,
            policy(),
            Suppress("edited", "an edit of an earlier message"),
        ),
        (
            update(kind="channel_post"),
            View(),
            OPEN,
            policy(),
            Suppress("channel-post", "a channel post"),
        ),
        (
            json.dumps({"update_id": 3, "callback_query": {"id": "q"}}).encode(),
            View(),
            OPEN,
            policy(),
            Suppress("button", "a button press"),
        ),
        (
            json.dumps({"update_id": 3, "my_chat_member": {}}).encode(),
            View(),
            OPEN,
            policy(),
            Suppress("other-update", "a my_chat_member update"),
        ),
        (
            b"garbage",
            View(),
            OPEN,
            policy(),
            Suppress("invalid-update", "not a readable Telegram update"),
        ),
        (update(), View(recent_replies={str(CUSTOMER): 3}), OPEN, policy(), record(CAPPED)),
        (update(), View(recent_replies={str(CUSTOMER): 2}), OPEN, policy(), ack()),
        (update(), View(recent_replies={"99": 3}), OPEN, policy(), ack()),  # someone else
        (
            update(),
            View(closed_replies={(str(CUSTOMER), "p1")}),
            CLOSED,
            policy(),
            record(TOLD_CLOSED),
        ),
        (
            update(),
            View(closed_replies={(str(CUSTOMER), "p0")}),
            CLOSED,
            policy(),
            ack("out_of_hours"),
        ),
        (update(), View(closed_replies={(str(CUSTOMER), "p1")}), OPEN, policy(), ack()),
        (
            update(message("Please unsubscribe me")),
            View(),
            OPEN,
            policy(QUIET_RULES),
            record(RULE_SAYS, "quiet", Action(template="none")),
        ),
        (
            update(message("Berapa harga kaos?")),
            View(),
            CLOSED,
            policy(QUIET_RULES),
            ack("price-list", "harga", Action(template="price-list")),
        ),
        (
            update(message("Berapa harga kaos?")),
            View(closed_replies={(str(CUSTOMER), "p1")}),
            CLOSED,
            policy(QUIET_RULES),
            ack("price-list", "harga", Action(template="price-list")),
        ),
        (
            update(message("Berapa harga kaos?")),
            View(recent_replies={str(CUSTOMER): 3}),
            OPEN,
            policy(QUIET_RULES),
            record(CAPPED, "harga", Action(template="price-list")),
        ),
        (
            update(),
            View(),
            OPEN,
            policy(QUIET_RULES, vip=("@budis",)),
            ack(rule="vip", action=Action(priority="high")),
        ),
        (update(), View(), OPEN, policy(QUIET_RULES, vip=("@other",)), ack()),
    ],
    ids=[
        "opens-ack",
        "opens-out-of-hours",
        "opens-holiday",
        "follow-up",
        "follow-up-photo",
        "voice-opens",
        "start-welcome",
        "start-addressed",
        "other-command-opens",
        "bot",
        "group",
        "supergroup-no-staff-chat",
        "service",
        "edited",
        "channel-post",
        "button",
        "other-update",
        "invalid",
        "reply-cap",
        "under-cap",
        "cap-other-customer",
        "told-closed",
        "told-closed-other-period",
        "told-closed-but-open-now",
        "rule-none",
        "canned-when-closed",
        "canned-not-held-by-closed",
        "canned-capped",
        "vip-username",
        "not-vip",
    ],
)
def test_customer(raw: bytes, view: View, moment: Moment, pol: Policy, expected: object) -> None:
    assert_decision(
        decide_chat(parse_update(raw), pol, view, moment, "id", refs(NEW_REF)), expected
    )


def test_new_ref_avoids_existing_refs() -> None:
    view = View(existing_refs={REF, "DEF345"})
    decision = decide_chat(parsed(), policy(), view, OPEN, "id", refs(REF, "DEF345", NEW_REF))
    assert decision == ack()


def test_open_ticket_and_cap_survive_a_batch() -> None:
    """Deciding a batch: the first message opens, the next joins, replies are counted."""
    view = View()
    first = decide_chat(parsed(), policy(), view, CLOSED, "id", refs(NEW_REF))
    assert first == ack("out_of_hours")
    assert isinstance(first, Acknowledge)
    view.opened(first, CLOSED, info=TicketInfo(NEW_REF, str(CUSTOMER), "open", "id", "Budi"))
    assert decide_chat(parsed(), policy(), view, CLOSED, "id", refs("X")) == FollowUp(NEW_REF)
    assert view.recent_replies == {str(CUSTOMER): 1}
    assert view.closed_replies == {(str(CUSTOMER), "p1")}
    assert NEW_REF in view.existing_refs
    # Once that ticket is closed, a new message opens another, but is not told "closed" twice.
    view.status(NEW_REF, "closed")
    again = decide_chat(parsed(), policy(), view, CLOSED, "id", refs(NEW_REF, "GHJ789"))
    assert_decision(again, Record(str(CUSTOMER), "GHJ789", "default", DEFAULT_ACTION, TOLD_CLOSED))


# --- decide_chat: staff ----------------------------------------------------------------------


def staff_view() -> View:
    info = TicketInfo(REF, str(CUSTOMER), "open", "id", "Budi Santoso")
    other = TicketInfo("DEF345", "5151", "closed", "en", "Ann")
    return View(
        open_by_customer={str(CUSTOMER): REF},
        ref_by_post={501: REF, 601: "DEF345"},
        ref_by_topic={77: REF},
        topic_by_ref={REF: 77},
        tickets={REF: info, "DEF345": other},
        existing_refs={REF, "DEF345"},
    )


REPLY = {"reply_to_message": {"message_id": 501}}
TOPIC = {"is_topic_message": True, "message_thread_id": 77}
BOT = {"from": {"id": 9, "is_bot": True, "first_name": "OtherBot"}}


@pytest.mark.parametrize(
    "text, extra, staff, expected",
    [
        ("Sudah dikirim", REPLY, True, StaffReply(REF, str(CUSTOMER))),
        (
            "Sudah dikirim",
            {"reply_to_message": {"message_id": 601}},
            True,
            StaffReply("DEF345", "5151"),
        ),
        ("Sudah dikirim", TOPIC, True, StaffReply(REF, str(CUSTOMER))),
        # In a topic, replying to the topic's opening service post still answers the ticket.
        (
            "Sudah",
            {**TOPIC, "reply_to_message": {"message_id": 77}},
            True,
            StaffReply(REF, str(CUSTOMER)),
        ),
        (None, {**REPLY, "photo": PHOTO}, True, StaffReply(REF, str(CUSTOMER))),
        (
            "Sudah dikirim",
            REPLY,
            False,
            Suppress("not-staff", "only members of the staff group may answer or use commands"),
        ),
        (
            "Sudah dikirim",
            REPLY,
            None,
            Suppress("not-staff", "only members of the staff group may answer or use commands"),
        ),
        (
            "Sudah dikirim",
            {**REPLY, **BOT},
            False,
            Suppress("bot", "sent by a bot in the staff group"),
        ),
        ("/close", REPLY, True, StaffCommand(REF, "close")),
        ("/close@shop_bot", REPLY, True, StaffCommand(REF, "close")),
        ("/close", TOPIC, True, StaffCommand(REF, "close")),
        ("/reopen", REPLY, True, StaffCommand(REF, "reopen")),
        ("/note call back tomorrow", REPLY, True, StaffCommand(REF, "note", "call back tomorrow")),
        ("/note", REPLY, True, Suppress("staff-empty-note", "/note without text")),
        ("/note   ", REPLY, True, Suppress("staff-empty-note", "/note without text")),
        ("/close ABC234", {}, True, StaffCommand(REF, "close")),
        ("/close #abc234", {}, True, StaffCommand(REF, "close")),
        ("/reopen DEF345", {}, True, StaffCommand("DEF345", "reopen")),
        ("/close DEF345", REPLY, True, StaffCommand("DEF345", "close")),  # named wins
        # A typo'd reference never closes the ticket being replied to instead.
        ("/close ZZZ999", REPLY, True, Suppress("staff-no-ticket", "/close names no known ticket")),
        ("/close", {}, True, Suppress("staff-no-ticket", "/close outside a ticket's thread")),
        (
            "/close ZZZ999",
            {},
            True,
            Suppress("staff-no-ticket", "/close names no known ticket"),
        ),
        (
            "/note ABC234 hi",
            {},
            True,
            Suppress("staff-no-ticket", "/note outside a ticket's thread"),
        ),
        (
            "/close",
            {"reply_to_message": {"message_id": 999}},
            True,
            Suppress("staff-no-ticket", "/close outside a ticket's thread"),
        ),
        ("/help", REPLY, True, Suppress("staff-command", "/help is not a command responder knows")),
        ("/help", {}, True, Suppress("staff-command", "/help is not a command responder knows")),
        (
            "Makan siang dulu ya",
            {},
            True,
            Suppress("staff-chatter", "not an answer to a customer's message"),
        ),
        (
            "Oke",
            {"reply_to_message": {"message_id": 999}},
            True,
            Suppress("staff-chatter", "not an answer to a customer's message"),
        ),
        (
            "Oke",
            {"is_topic_message": True, "message_thread_id": 88},
            True,
            Suppress("staff-chatter", "not an answer to a customer's message"),
        ),
        (
            "Oke",
            {"message_thread_id": 77},
            True,
            Suppress("staff-chatter", "not an answer to a customer's message"),
        ),
        (
            None,
            {**TOPIC, "pinned_message": {"message_id": 3}},
            True,
            Suppress("service-message", "a service message, nobody wrote anything"),
        ),
    ],
    ids=[
        "reply",
        "reply-other-ticket",
        "topic",
        "topic-reply-to-opening",
        "photo-reply",
        "not-member",
        "not-annotated",
        "bot",
        "close",
        "close-addressed",
        "close-in-topic",
        "reopen",
        "note",
        "note-empty",
        "note-blank",
        "close-named",
        "close-named-hash-lowercase",
        "reopen-named",
        "close-named-over-reply",
        "close-unknown-name-uses-reply",
        "close-no-ticket",
        "close-unknown-name",
        "note-cannot-name",
        "close-reply-to-chatter",
        "unknown-command-reply",
        "unknown-command",
        "chatter",
        "reply-to-chatter",
        "other-topic",
        "thread-not-topic",
        "service-in-topic",
    ],
)
def test_staff(
    text: str | None, extra: dict[str, Any], staff: bool | None, expected: object
) -> None:
    msg = parsed(staff_message(text, **extra), staff=staff)
    assert_decision(decide_chat(msg, policy(), staff_view(), OPEN, None, refs()), expected)


def test_staff_group_edits_are_not_answers() -> None:
    msg = parsed(staff_message("typo fixed", **REPLY), kind="edited_message", staff=True)
    assert_decision(decide_chat(msg, policy(), staff_view()), Suppress("edited", "edit"))


def test_anonymous_admin_answers() -> None:
    anonymous = {"id": 1087968824, "is_bot": True, "first_name": "Group"}
    sender_chat = {"id": STAFF_CHAT, "type": "supergroup", "title": "Staff"}
    msg = parsed(
        staff_message("Sudah dikirim", **REPLY, sender_chat=sender_chat, **{"from": anonymous}),
        staff=True,
    )
    assert msg.on_behalf_of_chat and msg.is_staff
    assert decide_chat(msg, policy(), staff_view()) == StaffReply(REF, str(CUSTOMER))


def test_note_on_its_own_line_is_not_sent_to_the_customer() -> None:
    msg = parsed(staff_message("/note\ncustomer sounds upset", **REPLY), staff=True)
    assert decide_chat(msg, policy(), staff_view()) == StaffCommand(
        REF, "note", "customer sounds upset"
    )


# --- View.status -------------------------------------------------------------------------


def test_close_and_reopen_move_the_customer_mapping() -> None:
    view = staff_view()
    view.status(REF, "closed")
    assert str(CUSTOMER) not in view.open_by_customer
    assert view.tickets[REF] == TicketInfo(REF, str(CUSTOMER), "closed", "id", "Budi Santoso")
    # With the ticket closed, the customer's next message opens a new one.
    decision = decide_chat(parsed(), policy(), view, OPEN, "id", refs(NEW_REF))
    assert decision == ack()
    view.status(REF, "open")
    assert view.open_by_customer == {str(CUSTOMER): REF}
    assert view.tickets[REF].status == "open"
    assert decide_chat(parsed(), policy(), view) == FollowUp(REF)


def test_closing_an_older_ticket_keeps_the_newer_one_open() -> None:
    view = staff_view()
    view.open_by_customer[str(CUSTOMER)] = "NEW567"
    view.status(REF, "closed")
    assert view.open_by_customer == {str(CUSTOMER): "NEW567"}


@pytest.mark.parametrize("status", ["closed", "open", "pending"], ids=str)
def test_status_keeps_other_customers(status: str) -> None:
    view = staff_view()
    view.open_by_customer["5151"] = "DEF345"
    view.status(REF, status)
    assert view.open_by_customer["5151"] == "DEF345"
    assert view.tickets["DEF345"].status == "closed"


def _left(address: str = "sari@example.com") -> Message:
    visitor = "Vb3kP2mQxR7sT9uW1yZ4aC"
    record = VisitorMessage(visitor, "", "c-1234-abcf", datetime.now(UTC), email=address)
    return WEBCHAT.parse(record.to_bytes())


@pytest.mark.parametrize(
    ("open_tickets", "moment", "expected"),
    [
        ({"web:Vb3kP2mQxR7sT9uW1yZ4aC": REF}, OPEN, FollowUp(REF)),
        ({"web:Vb3kP2mQxR7sT9uW1yZ4aC": REF}, CLOSED, FollowUp(REF)),
        # Nothing open to answer by email: no ticket is opened for an address alone.
        ({}, OPEN, Suppress("no-conversation", "")),
        ({"web:Other1234567890abcdef": REF}, OPEN, Suppress("no-conversation", "")),
    ],
    ids=["joins-open-ticket", "joins-when-closed", "no-ticket", "someone-elses-ticket"],
)
def test_an_address_left_in_the_web_chat_joins_only_the_visitors_open_ticket(
    open_tickets: dict[str, str], moment: Moment, expected: object
) -> None:
    view = View(open_by_customer=open_tickets, existing_refs=set(open_tickets.values()))
    pol = policy(channel="web", staff_chat=None)
    assert_decision(decide(_left(), pol, view, moment, "id", refs(NEW_REF)), expected)
