"""The daemon's channels against its config: health at each one's config key, whether any can
work, when intake has caught up, and a restart in place for each one a reload changed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from responder.channels.base import (
    Channel,
    ChannelHealth,
    FetchFile,
    FileSource,
    Site,
    Streams,
    Webhooks,
)
from responder.channels.health import explain, located
from responder.common.tasks import TaskGroup
from responder.config import ChannelConfig, Config
from responder.core.canned import CANNED, locate, sniff
from responder.core.contexts import opening
from responder.core.settings import Settings
from responder.domain.models import FileData
from responder.errors import NoChannelWorks, PermanentError
from responder.services.channel_watch import ChannelWatch

# Under the composition root's name, as these lines were logged before they had a module of
# their own: the name is in every log line, and admins filter on it.
log = logging.getLogger("responder.app.daemon")


def webhook_routes(channels: Iterable[Channel]) -> list[Any]:
    """The HTTP routes of the channels a provider calls (WhatsApp's webhook)."""
    return [route for c in channels if isinstance(c, Webhooks) for route in c.routes()]


def stream_closers(channels: Iterable[Channel]) -> list[Callable[[], Awaitable[None]]]:
    """What ends the requests channels hold open (the web chat's streams), for the HTTP
    endpoint to call before it waits for its requests at stop."""
    return [c.close_streams for c in channels if isinstance(c, Streams)]


def site(
    config: Callable[[], Config], settings: Callable[[], Settings], clock: Callable[[], datetime]
) -> Site:
    """The public address (as configured now), clock and hours a channel serving browsers
    shows them (the web chat's panel: open now, or when we open next)."""

    def public_url() -> str:
        http = config().http
        return http.public_url if http is not None and http.public_url else ""

    def hours(language: str) -> tuple[bool, str | None]:
        return opening(settings().calendar, language, clock())

    def by_email(channel: str) -> bool:
        profile = settings().profiles.get(channel)
        return profile is not None and profile.by_email is not None

    return Site(public_url, clock, hours, by_email)


def file_fetcher(
    channels: Callable[[], Mapping[str, Channel]],
    templates_dir: Callable[[], Path | None] = lambda: None,
) -> FetchFile:
    """How a staff group's channel gets a customer's file from the channel that has it
    (WhatsApp media), without either knowing the other; and how any channel reads a canned
    answer's file from the templates folders (issue 18)."""

    async def fetch(channel: str, ref: str, limit: int) -> FileData:
        if channel == CANNED:
            # Read as the reply goes, off the event loop: a 50 MB PDF takes a while.
            return await asyncio.to_thread(read_canned, templates_dir(), ref, limit)
        source = channels().get(channel)
        if not isinstance(source, FileSource):
            raise PermanentError(f"channel {channel} is no longer configured")
        return await source.fetch_file(ref, limit)

    return fetch


def read_canned(admin_dir: Path | None, name: str, limit: int) -> FileData:
    """A canned file by its name; PermanentError when it is gone, unreadable, no longer the
    type `check` found, or over `limit` (the admin changed it since)."""
    path = locate(admin_dir, name)
    if path is None:
        raise PermanentError(f"the file {name} is no longer in the templates folder")
    try:
        with path.open("rb") as f:
            content = f.read(limit + 1)
    except OSError as exc:
        raise PermanentError(f"the file {path} cannot be read: {exc}") from exc
    mime = sniff(content[:16])
    if mime is None:
        raise PermanentError(f"the file {path} is no longer a PDF, JPEG or PNG")
    if len(content) > limit:
        raise PermanentError(f"the file {path} is over the {limit} bytes this channel takes")
    return FileData(content, name, mime)


def located_health(channels: Mapping[str, Channel], config: Config) -> dict[str, ChannelHealth]:
    """Each channel's health, its problem naming the config file and key."""
    where = {c.name: n for n, c in enumerate(config.channels)}
    file = config.source.filename
    return {
        name: located(channel.health, where.get(name), file) for name, channel in channels.items()
    }


async def require_one_working(health: Mapping[str, ChannelHealth], watch: ChannelWatch) -> None:
    """Raise NoChannelWorks if every channel has failed for a reason only the admin can fix;
    called once start-up has settled. Restarting would not help."""
    if not health or any(h.state != "failed" or h.partial for h in health.values()):
        return
    await watch.check()  # the log, and `status`, say why first
    reasons = [f"{name}: {explain(h.problem)}" for name, h in health.items() if h.problem]
    log.error("no channel can work; stopping: %s", "; ".join(reasons))
    raise NoChannelWorks(reasons)


async def caught_up(
    states: Callable[[], Iterable[str]], queue: asyncio.Queue[int], wait: float
) -> None:
    """Return once every channel has connected (or failed, or stands by for its lease) and
    what they queued is decided, or after `wait` seconds (at least one for the queue)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    # Channel state is a plain property of the channel protocol, so it is polled.
    while loop.time() < deadline and any(  # noqa: ASYNC110
        state not in ("connected", "failed", "standby") for state in states()
    ):
        await asyncio.sleep(0.05)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(max(deadline - loop.time(), 1.0)):  # see services.leases
            await queue.join()


class Reconfigurer:
    """Restarts, in the background and one at a time, each channel whose settings a reload
    changed; the others keep their connections."""

    def __init__(self, tasks: TaskGroup, restarted: Callable[[str], None]) -> None:
        self._tasks = tasks
        self._restarted = restarted  # told each channel's name once it runs with new settings
        self._lock = asyncio.Lock()

    def apply(
        self,
        channels: Mapping[str, Channel],
        running: tuple[ChannelConfig, ...],
        configs: tuple[ChannelConfig, ...],
        health: Mapping[str, ChannelHealth],
    ) -> None:
        """Restart the channels whose settings went from `running` to `configs`, and those
        failed. Channels added, removed or of another type wait for the next restart."""
        before = {c.name: c for c in running}
        wanted = {c.name: c for c in configs}
        later = sorted(set(before) ^ set(wanted))
        later += [n for n in before if n in wanted and before[n].type != wanted[n].type]
        if later:
            log.warning(
                "channels added, removed or of another type (%s): that takes effect at the "
                "next restart",
                ", ".join(later),
            )
        for name, new in wanted.items():
            old = before.get(name)
            if old is None or name in later or name not in channels:
                continue
            failed = health[name].state == "failed"
            if new != old or failed:
                # A failed channel is tried again at once even with the same settings: what
                # it lacked may live outside the config (a `responder login` just done).
                self._tasks.spawn(self._restart(channels, name, new), name=f"reconfigure:{name}")
            if new == old and failed and os.environ.get("CREDENTIALS_DIRECTORY"):
                log.warning(
                    "channel %s: its settings did not change; systemd hands secret files "
                    "over (LoadCredential=) only when the service starts: after changing "
                    "one, run `systemctl restart responder`",
                    name,
                )

    async def _restart(
        self, channels: Mapping[str, Channel], name: str, config: ChannelConfig
    ) -> None:
        """Restart one channel with new settings; the outbox keeps sending through it."""
        async with self._lock:
            log.info("channel %s: restarting it with the settings just loaded", name)
            try:
                await channels[name].reconfigure(config)
            except Exception:
                log.exception("channel %s could not take its new settings", name)
                return
            self._restarted(name)
