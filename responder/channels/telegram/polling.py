"""getUpdates long polling for a TelegramChannel (a mixin): reconnecting, recording each
batch before confirming it, marking what the staff group's members write."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta

from responder.channels import health
from responder.channels.base import Inbox
from responder.channels.diagnose import Diagnosed, Diagnosis
from responder.channels.health import Condition
from responder.channels.telegram.botapi import BotApi
from responder.channels.telegram.errors import Conflict, InvalidToken
from responder.channels.telegram.send import Sender
from responder.common.retry import STORAGE_RETRY_CAP, backoff
from responder.config import TelegramChannelConfig
from responder.domain.models import Cursor, InboundMessage
from responder.errors import SignInRefused, StorageUnavailable
from responder.wire.telegram.update import ANNOTATION

# Under the channel module's name, as these lines were logged before polling had a module of its
# own: the name is in every log line, and admins filter on it.
log = logging.getLogger("responder.channels.telegram.bot")

ALLOWED_UPDATES = ["message", "edited_message", "channel_post", "callback_query"]
# Bot API getUpdates: after a week without updates, the next update_id is chosen at random,
# so an offset older than that could skip new updates; poll without one and let the
# (channel, update_id) dedupe in the database drop anything already recorded.
OFFSET_TRUSTED_FOR = timedelta(days=6)
MEMBER_STATUSES = frozenset({"creator", "administrator", "member"})
MEMBERSHIP_TTL = 300.0


class UpdatePolling:
    """`_run` polls until cancelled; TelegramChannel supplies the bot, settings and health."""

    name: str
    config: TelegramChannelConfig
    _bot: BotApi
    _sender: Sender
    _condition: Condition
    _members: dict[int, tuple[bool, float]]

    async def _run(self, inbox: Inbox) -> None:
        attempt = 0
        while True:
            try:
                await self._bot.initialize()
                await self._sender.learn_staff_group()
                self._condition.connected()
                log.info("telegram %s: connected as @%s", self.name, self._bot.username)
                attempt = 0
                await self._poll(inbox)
            except (InvalidToken, SignInRefused):
                # The composition root's ChannelWatch says it once, with the remedy.
                self._condition.failed(SignInRefused("Telegram refused the bot token"))
                await asyncio.sleep(health.SLOW_RETRY)
            except asyncio.CancelledError:
                raise
            except StorageUnavailable as exc:
                attempt += 1  # the database's fault (disk full), not Telegram's: sooner
                delay = backoff(attempt, 1.0, STORAGE_RETRY_CAP)
                self._condition.trouble(Diagnosis(f"cannot record updates: {exc}", "", "", False))
                log.warning(
                    "telegram %s: cannot record updates: %s; trying again in %.1fs",
                    self.name,
                    exc,
                    delay,
                )
                await asyncio.sleep(delay)
            except Exception as exc:
                attempt += 1
                problem = self._condition.failed(
                    _conflict(exc) if isinstance(exc, Conflict) else exc
                )
                delay = health.SLOW_RETRY if problem.permanent else backoff(attempt, 1.0, 300.0)
                log.log(
                    logging.DEBUG if problem.permanent else logging.WARNING,
                    "telegram %s: %s; trying again in %.1fs",
                    self.name,
                    problem,
                    delay,
                )
                await asyncio.sleep(delay)

    async def _poll(self, inbox: Inbox) -> None:
        offset: int | None = None
        known = await inbox.cursor(self.name)
        if known is not None and datetime.now(UTC) - known[1] < OFFSET_TRUSTED_FOR:
            offset = known[0].position + 1
        while True:
            raw = await self._bot.get_updates(offset, ALLOWED_UPDATES)
            self._condition.connected()
            if not raw:
                continue
            for update in raw:
                await self._annotate(update)
            now = datetime.now(UTC)
            last = max(int(u["update_id"]) for u in raw)
            messages = [
                InboundMessage(self.name, str(u["update_id"]), _encode(u), now) for u in raw
            ]
            # Recorded first, then confirmed: the next getUpdates with this offset tells
            # Telegram to forget them, so a crash before this line only means a re-read.
            await inbox.deliver(self.name, messages, Cursor(0, last))
            offset = last + 1

    async def _annotate(self, update: dict[str, object]) -> None:
        """Whether the sender is a member of the staff group, asked of Telegram (cached)."""
        staff = self.config.staff_chat_id
        message = update.get("message")
        if staff is None or not isinstance(message, dict):
            return
        chat = message.get("chat") or {}
        if chat.get("id") != staff:
            return
        sender_chat = message.get("sender_chat") or {}
        user = message.get("from") or {}
        if sender_chat.get("id") == staff:
            is_staff = True  # an anonymous administrator of the group
        elif isinstance(user.get("id"), int) and not user.get("is_bot"):
            is_staff = await self._is_member(staff, user["id"])
        else:
            is_staff = False
        update[ANNOTATION] = {"staff": is_staff, "bot": self._bot.username}

    async def _is_member(self, chat: int, user: int) -> bool:
        loop = asyncio.get_running_loop()
        cached = self._members.get(user)
        if cached is not None and cached[1] > loop.time():
            return cached[0]
        member = await self._bot.get_chat_member(chat, user)
        # ChatMemberRestricted: is_member says whether a restricted user is still in the chat.
        is_member = member.get("status") in MEMBER_STATUSES or member.get("is_member") is True
        self._members[user] = (is_member, loop.time() + MEMBERSHIP_TTL)
        return is_member


def _encode(update: dict[str, object]) -> bytes:
    return json.dumps(update, ensure_ascii=False, separators=(",", ":")).encode()


def _conflict(exc: Conflict) -> Diagnosed:
    """Bot API 409: one getUpdates per bot, none while a webhook is set. Instances on one
    database take turns by their lease (issue 19), so a 409 is another program's doing."""
    if "webhook" in str(exc).lower():
        problem = "a webhook is set for this bot, so Telegram hands it no updates to poll"
        remedy = (
            "if no other program should get this bot's messages, remove the webhook: open "
            "https://api.telegram.org/bot<token>/deleteWebhook once; responder keeps trying"
        )
    else:
        problem = "another program is reading this bot's messages (Telegram: 409 Conflict)"
        remedy = (
            "stop the other copy using this token (a test run, an old server, another bot "
            "program); responder instances sharing one database take turns by themselves"
        )
    return Diagnosed(Diagnosis(problem, remedy, "token_file", False))
