"""`check --connect` for a Telegram channel: the token (getMe), then the staff group (getChat,
and getChatMember for the bot): may the bot post there?"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

from responder.channels.diagnose import (
    Diagnosed,
    Diagnosis,
    Endpoint,
    StaffGroupTrouble,
    staff_group_problem,
)
from responder.channels.telegram.botapi import BotApi
from responder.channels.telegram.errors import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    TimedOut,
)
from responder.config import TelegramChannelConfig
from responder.errors import SignInRefused
from responder.ops.connect_base import Line, failed, passed

UNREACHABLE = "check api_url, and that this machine can reach it (HTTPS to api.telegram.org)"


async def check_telegram(channel: TelegramChannelConfig, config_file: str) -> list[Line]:
    """Whether Telegram takes the bot's token, and the bot may post in its staff group."""
    url = urlsplit(channel.api_url)
    default_port = 443 if url.scheme == "https" else 80
    host, port = url.hostname or "", url.port or default_port
    at = Endpoint(channel.name, "telegram", host, port, config_file=config_file)
    who = f"{channel.name} Telegram"
    assert channel.token is not None  # loaded with secrets required
    timeout = channel.timeout.total_seconds()
    poll = channel.poll_timeout.total_seconds()
    bot = BotApi(channel.token.get_secret_value(), channel.bot_url, timeout, poll)
    lines: list[Line] = []
    try:
        async with asyncio.timeout(timeout):
            try:
                await bot.initialize()  # getMe
            except InvalidToken:
                raise SignInRefused("Telegram refused the bot token") from None
            lines.append(passed(who, f"the token works: this is the bot @{bot.username}"))
            if channel.staff_chat_id is not None:
                lines.append(await _staff_group(bot, channel.staff_chat_id, channel.name, at))
    except TimedOut as exc:
        lines.append(failed(who, TimeoutError(str(exc)), at))
    except Exception as exc:
        lines.append(failed(who, exc, at, UNREACHABLE))
    finally:
        await bot.close()
    return lines


async def _staff_group(bot: BotApi, chat_id: int, channel: str, at: Endpoint) -> Line:
    who = f"{channel} staff group"
    name = bot.username
    try:
        chat = await bot.get_chat(chat_id)
    except ChatMigrated as exc:
        # Bot API: a group that became a supergroup has a new id.
        problem = Diagnosis(
            f"the staff group {chat_id} became a supergroup with a new id",
            f"set staff_chat_id: {exc.new_chat_id}",
            "staff_chat_id",
            True,
        )
        return failed(who, Diagnosed(problem), at)
    except (BadRequest, Forbidden):
        return failed(who, staff_group_problem(at, chat_id, "unknown", name), at)
    if chat.get("type") == "private":
        return failed(who, staff_group_problem(at, chat_id, "not_a_group", name), at)
    title = str(chat.get("title") or "")
    try:
        member = await bot.get_chat_member(chat_id, bot.id)
    except (BadRequest, Forbidden):
        return failed(who, staff_group_problem(at, chat_id, "not_member", name, title), at)
    status = member.get("status")
    if status in ("left", "kicked"):
        trouble: StaffGroupTrouble = "removed" if status == "kicked" else "not_member"
        return failed(who, staff_group_problem(at, chat_id, trouble, name, title), at)
    # A restricted member has its own rights; a plain member has the group's (Bot API
    # ChatMemberRestricted, ChatFullInfo.permissions).
    may_post = member.get("can_send_messages", True) is not False
    permissions = chat.get("permissions")
    if status == "member" and isinstance(permissions, dict):
        may_post = permissions.get("can_send_messages") is not False
    if not may_post:
        return failed(who, staff_group_problem(at, chat_id, "cannot_post", name, title), at)
    role = "an administrator" if status in ("administrator", "creator") else "a member"
    return passed(who, f'@{name} is {role} of "{title}" ({chat_id}) and may post there')
