"""The daemon's life under a supervisor: signals, sd_notify, the watchdog and reload."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

from responder.app.daemon import App
from responder.app.logs import redact_config
from responder.app.notify import Notifier, settled
from responder.common.tasks import cancel
from responder.config import Config, load_config
from responder.core.settings import Settings
from responder.errors import ConfigError
from responder.services.settings import build_settings
from responder.storage.status import open_tickets

# Stops, reloads and refusals are the daemon's own news: they carry the program's name.
log = logging.getLogger("responder")

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


async def serve(app: App, path: Path) -> None:
    """Run `app` until SIGTERM or SIGINT, reloading `path` on SIGHUP (see Lifecycle)."""
    await Lifecycle(app, path).run()


def prepare(path: Path) -> tuple[Config, Settings]:
    """Read and validate the config and build its Settings, every template rendered against
    its samples: file reads and CPU work, so a reload runs this in a worker thread."""
    config = load_config(path)
    redact_config(config)  # before anything could log one of its secrets
    return config, build_settings(config)


class Lifecycle:
    """Starts the App, says READY=1 once its channels have settled, keeps STATUS= and the
    watchdog fed, reloads on SIGHUP and says STOPPING=1 before stopping it.

    Exceptions (a port taken, NoChannelWorks) reach the caller once the App has stopped:
    only the CLI turns them into exit codes.
    """

    def __init__(self, app: App, path: Path, systemd: Notifier | None = None) -> None:
        self.app = app
        self.path = path
        self.systemd = Notifier.from_env() if systemd is None else systemd
        self._stop = asyncio.Event()
        self._started = asyncio.Event()
        # One reload at a time, in signal order: a slow one must not land after a later one.
        self._reloading = asyncio.Lock()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, self._stop.set)
        loop.add_signal_handler(signal.SIGHUP, self._hangup)
        try:
            if not await self._start():
                return
            try:
                await self._serve()
            finally:
                self.systemd.stopping()
                await self.app.stop()
        finally:
            # Only now: a second Ctrl-C while stopping must not cut the stop short.
            for sig in (*STOP_SIGNALS, signal.SIGHUP):
                loop.remove_signal_handler(sig)
            self.systemd.close()

    async def _start(self) -> bool:
        """Start the App; False if a stop signal came first (it is stopped then)."""
        try:
            started = await self._unless_stopped(self.app.start(), "start")
        except BaseException:
            # A start that fails half way (the http port taken, say) closes what it opened.
            await self.app.stop()
            raise
        if not started:
            log.info("signal received while starting; stopping")
            self.systemd.stopping()
            await self.app.stop()
        return started

    async def _serve(self) -> None:
        if await self._unless_stopped(self._ready(), "ready"):
            await self._stop.wait()
        log.info("signal received; stopping")

    async def _ready(self) -> None:
        app = self.app
        await settled(lambda: app.health().values(), self._stop)
        if not self._stop.is_set():
            await app.check_channels()  # NoChannelWorks when every channel failed for good
        self.systemd.ready(await self.status())
        self._started.set()
        app.tasks.spawn(self.systemd.keep_status(self.status), name="systemd:status")
        watchdog = self.systemd.keep_watchdog(lambda: app.monitor.responsive)
        app.tasks.spawn(watchdog, name="systemd:watchdog")

    async def _unless_stopped(self, step: Coroutine[Any, Any, None], name: str) -> bool:
        """Run `step` unless a stop signal comes first: then it is cancelled, and False. A
        start and the READY=1 after it wait on the database (each write up to its busy or
        lock timeout where several instances share it, a status read queued behind them) and
        on the servers: a SIGTERM meanwhile must not wait for them, or the stop would not end
        within systemd's TimeoutStopSec (systemd/responder.service)."""
        running = asyncio.create_task(step, name=name)
        signalled = asyncio.create_task(self._stop.wait(), name=f"{name}:stop-signal")
        try:
            await asyncio.wait({running, signalled}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            signalled.cancel()
            if not running.done():
                await cancel([running])
        if running.cancelled() or not running.done():
            return False
        if self._stop.is_set() and running.exception() is not None:
            return False  # what it met once cut short is moot
        running.result()
        return True

    def _hangup(self) -> None:
        self.app.tasks.spawn(self._reload_once_started(), name="reload")

    async def _reload_once_started(self) -> None:
        # A SIGHUP during start-up is taken after READY=1: systemd must hear RELOADING=1
        # only from a service that is up, and the App swaps settings only once it runs.
        await self._started.wait()
        await self.reload()

    async def reload(self) -> bool:
        """SIGHUP: re-read the config, rules and templates off the event loop, then swap them
        in at once; keep the running ones if the new are bad. Whether they were taken."""
        async with self._reloading:
            log.info("SIGHUP: reloading %s", self.path)
            # sd_notify(3): RELOADING=1 first, READY=1 once done, whatever the outcome, or
            # systemd (Type=notify-reload) waits for the reload until its timeout.
            self.systemd.reloading()
            try:
                config, settings = await asyncio.to_thread(prepare, self.path)
            except ConfigError as exc:
                log.error("reload refused; keeping the running configuration:\n%s", exc)
                return False
            except Exception:
                log.exception("reload failed; keeping the running configuration")
                return False
            else:
                return self.app.reload(config, settings)
            finally:
                if not self._stop.is_set():  # a stop cuts the reload short: STOPPING=1 stands
                    self.systemd.ready()

    async def status(self) -> str:
        return await status(self.app)


async def status(app: App) -> str:
    """systemd's STATUS= line, as `systemctl status` shows it."""
    health = app.channel_health()
    up = sum(h.state == "connected" for h in health.values())
    failing = [
        f"{name} FAILING: {h.problem.problem}"
        for name, h in health.items()
        if h.state == "failed" and h.problem is not None
    ]
    standby = sum(h.state == "standby" for h in health.values())
    counts = f"{up} of {len(health)} channel(s) connected"
    counts += f" ({standby} standing by)" if standby else ""
    # Which intake and timers this instance runs, where several share a database (issue 19).
    held = ", ".join(app.keeper.held) or "none"
    leases = f"leases held: {held}"
    tickets = f"{await open_tickets(app.store)} open tickets"
    return "; ".join([*failing, f"{counts}, {tickets}", leases])
