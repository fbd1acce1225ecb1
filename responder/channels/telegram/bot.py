"""The Telegram channel: getUpdates long polling in, Bot API sends out, one bot per channel."""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from responder.channels.base import FetchFile, Inbox
from responder.channels.diagnose import Endpoint
from responder.channels.health import Condition, Conditioned
from responder.channels.telegram.botapi import BotApi
from responder.channels.telegram.errors import InvalidToken
from responder.channels.telegram.limits import Limits, SendSchedule
from responder.channels.telegram.polling import UpdatePolling
from responder.channels.telegram.send import Sender
from responder.common.tasks import TaskGroup, cancel
from responder.config import TelegramChannelConfig
from responder.domain.models import Delivered, FileData, OutboundReply
from responder.errors import PermanentError, SignInRefused

# What the bot's client holds (its token, base URL, and its connections' timeouts): a change to
# any of these needs a new bot; any other setting is taken in place.
_HELD_BY_BOT = ("token", "api_url", "timeout", "poll_timeout")


class TelegramChannel(UpdatePolling, Conditioned):
    def __init__(
        self, config: TelegramChannelConfig, tasks: TaskGroup, files: FetchFile | None = None
    ) -> None:
        self.name = config.name
        self._tasks = tasks
        self._files = files  # customers' files kept by another channel (WhatsApp media)
        self._build(config)
        # Customers' replies in parallel, the staff group's posts one at a time and in order.
        self.lanes = {"customers": 4, "staff": 1}
        self._task: asyncio.Task[None] | None = None
        self._inbox: Inbox | None = None

    def _build(self, config: TelegramChannelConfig, schedule: SendSchedule | None = None) -> None:
        """The bot and what speaks through it, for these settings; `schedule`: the send
        slots booked so far, kept when the bot is the same one (same token, same limits)."""
        self.config = config
        api = urlsplit(config.api_url)
        port = api.port or (443 if api.scheme == "https" else 80)
        where = Endpoint(self.name, "telegram", api.hostname or config.api_url, port)
        self._condition = Condition(where, state="stopped")
        if config.token is None:  # only a config loaded for `check` or `simulate`
            message = f"{config.name}: the bot token was not read (token_file or token_env)"
            raise PermanentError(message)
        self._bot = BotApi(
            config.token.get_secret_value(),
            config.bot_url,
            config.timeout.total_seconds(),
            config.poll_timeout.total_seconds(),
        )
        self._schedule = schedule or _schedule(config)
        self._sender = Sender(
            self.name, self._bot, self._schedule, config.staff_chat_id, self._files
        )
        self._sends = InFlight()  # through this bot
        self._members: dict[int, tuple[bool, float]] = {}

    def lane(self, reply: OutboundReply) -> str:
        staff = self.config.staff_chat_id
        return "staff" if staff is not None and reply.recipients == (str(staff),) else "customers"

    async def start(self, inbox: Inbox) -> None:
        self._inbox = inbox
        self._condition.starting()
        self._task = self._tasks.spawn(self._run(inbox), name=f"telegram:{self.name}")

    async def fetch_file(self, ref: str, limit: int) -> FileData:
        """A staff member's photo or document by its file_id (getFile, then the download),
        for the channel their answer goes to (the website chat, issue 17)."""
        bot, sender = self._bot, self._sender
        found = await sender.guard(bot.get_file(ref), chat=None)
        size, path = found.get("file_size"), found.get("file_path")
        if isinstance(size, int) and size > limit:
            raise PermanentError(f"the file is {size} bytes, over the limit of {limit}")
        if not isinstance(path, str) or not path:
            # The Bot API lends files up to 20 MB; a larger one has no file_path.
            raise PermanentError("Telegram lends bots files up to 20 MB only")
        content = await sender.guard(bot.download(path, limit), chat=None)
        if content is None:
            raise PermanentError(f"the file is over the limit of {limit} bytes")
        return FileData(content, path.rsplit("/", 1)[-1], "")

    async def send(self, reply: OutboundReply) -> Delivered:
        # This bot's, even if a reconfigure replaces it meanwhile: it is closed only once
        # the sends under way through it are done.
        bot, sender, sends = self._bot, self._sender, self._sends
        async with sends:
            self._refused()
            await sender.guard(bot.initialize(), chat=None)
            return await sender.send(reply)

    async def probe(self) -> None:
        """Whether the Bot API answers again (getMe); the outbox asks while it is down."""
        self._refused()
        try:
            await self._bot.initialize()
            await self._bot.get_me()
        except InvalidToken:
            raise SignInRefused("Telegram refused the bot token") from None

    async def reconfigure(self, config: TelegramChannelConfig) -> None:
        """New settings without a restart. The bot is replaced only when what it holds
        changed (the token, the Bot API's address, the timeouts of its connections), and
        closed once the sends under way through it are done: closing it under one could
        lose Telegram's answer to a message it took, and the retry would send it twice.
        Other settings are swapped in place, keeping the send schedule (Telegram counts
        per bot) and the connections."""
        old = self.config
        if any(getattr(old, key) != getattr(config, key) for key in _HELD_BY_BOT):
            await self._stop_polling()
            bot, sends = self._bot, self._sends
            same = config.token == old.token and config.limits == old.limits
            self._build(config, self._schedule if same else None)
            if self._inbox is not None:
                await self.start(self._inbox)
            await sends.idle()
            await bot.close()
            return
        self.config = config
        regroup = config.staff_chat_id != old.staff_chat_id or config.limits != old.limits
        if config.limits != old.limits:
            self._schedule = _schedule(config)
        if regroup:
            self._sender = Sender(
                self.name, self._bot, self._schedule, config.staff_chat_id, self._files
            )
            self._members = {}
        # A failed bot is tried again at once; a new staff group is looked up (its topics).
        if (regroup or self._condition.state == "failed") and self._inbox is not None:
            await self._stop_polling()
            await self.start(self._inbox)

    async def pause(self) -> None:
        """Polling stops (another instance holds the bot's lease, issue 19: Telegram answers
        a second getUpdates with 409 Conflict); sends go on through this bot."""
        self._inbox = None
        await self._stop_polling()
        self._condition.stopped()

    async def stop(self) -> None:
        """The first call stops intake; sends of the shutdown drain still go through this
        bot. The composition root calls again after the drain, which closes the
        connections: closing them under a send in flight could lose Telegram's answer to a
        message it took, and the retry would repeat it."""
        if self._task is not None:
            await self._stop_polling()
            self._condition.stopped()
            return
        await self._bot.close()

    async def _stop_polling(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            await cancel([task])

    def _refused(self) -> None:
        """Replies wait (not parked) while the token is refused, without asking Telegram
        again: only the polling loop's slow retry and a reload do."""
        if isinstance(self._condition.cause, SignInRefused):
            raise SignInRefused("Telegram refused the bot token; replies wait for a good one")


class InFlight:
    """The sends under way through one bot (`async with`), so it is closed after them."""

    def __init__(self) -> None:
        self._count = 0
        self._none = asyncio.Event()
        self._none.set()

    async def __aenter__(self) -> None:
        self._count += 1
        self._none.clear()

    async def __aexit__(self, *exc: object) -> None:
        self._count -= 1
        if not self._count:
            self._none.set()

    async def idle(self) -> None:
        await self._none.wait()


def _schedule(config: TelegramChannelConfig) -> SendSchedule:
    limits = config.limits
    return SendSchedule(
        Limits(
            limits.per_chat_interval.total_seconds(),
            limits.global_per_second,
            limits.group_per_minute,
        )
    )
