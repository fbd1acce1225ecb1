"""A reload's swap: new rules, calendar, templates and guard settings taken in one step on the
loop, channels whose settings changed restarted in place, timers re-planned."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from responder.config import Config
from responder.core.settings import Settings
from responder.errors import ConfigError
from responder.services.settings import build_settings

if TYPE_CHECKING:
    from responder.app.channel_control import Reconfigurer
    from responder.channels.base import Channel, ChannelHealth
    from responder.common.tasks import TaskGroup
    from responder.services.closing.service import CloseService
    from responder.services.csat.service import SurveyService
    from responder.services.dispatch import Dispatcher
    from responder.services.sla.service import SlaService

# The daemon's own news, under its logger's name as before (admins' filters name it).
log = logging.getLogger("responder.app.daemon")


class Reloadable(Protocol):
    """What a reload changes: the composition root's parts (app.daemon.App)."""

    config: Config
    channels: dict[str, Channel]
    dispatcher: Dispatcher | None
    reconfigurer: Reconfigurer
    sla: SlaService | None
    surveys: SurveyService | None
    closing: CloseService | None
    tasks: TaskGroup

    def channel_health(self) -> Mapping[str, ChannelHealth]: ...


def swap_in(app: Reloadable, config: Config, settings: Settings | None) -> bool:
    """Take `config` and its `settings` (built here, blocking, if not given), all or nothing.

    A channel whose settings changed (a fixed password file, another server) restarts in
    place, in the background; the others keep their connections. Channels added or removed
    take effect at the next restart, and the log says so. Returns whether the new settings
    were taken.
    """
    if settings is None:
        try:
            settings = build_settings(config)
        except ConfigError as exc:
            log.error("reload refused; keeping the running configuration:\n%s", exc)
            return False
    dispatcher = app.dispatcher
    if dispatcher is None:
        return False
    app.reconfigurer.apply(app.channels, app.config.channels, config.channels, app.channel_health())
    running = dispatcher.settings
    changed = settings.sla_fingerprint != running.sla_fingerprint
    csat_changed = settings.csat != running.csat
    closing_changed = (settings.closing, settings.sla_fingerprint) != (
        running.closing,
        running.sla_fingerprint,
    )
    dispatcher.settings = settings
    app.config = config
    log.info("configuration reloaded: %d rules", len(settings.rules))
    if changed and app.sla is not None:
        # New targets or hours move the open tickets' due times (issue 5).
        app.tasks.spawn(app.sla.replan_if_changed(), name="sla:replan")
    if csat_changed and app.surveys is not None:
        app.tasks.spawn(app.surveys.reconfigured(), name="csat:replan")
    if closing_changed and app.closing is not None:
        app.tasks.spawn(app.closing.reconfigured(), name="close:replan")
    return True
