"""The HTTP endpoint: /metrics and /healthz, plus whatever routes the caller adds."""

from __future__ import annotations

import errno
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from responder.channels.base import ChannelHealth
from responder.common.metrics import CONTENT_TYPE, Metrics
from responder.config.csat import HttpConfig
from responder.errors import ServiceError
from responder.web.health import LoopMonitor, channel_line

log = logging.getLogger(__name__)
access_log = logging.getLogger("responder.web.access")

MAX_BODY = 16 * 1024  # the survey form's comment is the largest thing anyone posts
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Server": "responder",
}

ChannelStates = Callable[[], Mapping[str, ChannelHealth]]


class _AccessLogger(AbstractAccessLogger):
    """Survey tokens travel in URLs, so a request is logged by its route's pattern
    (/s/{token}), never by the URL it came with, and never with its query string."""

    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        resource = getattr(request, "match_info", None)
        route = resource.route.resource if resource is not None else None
        where = route.canonical if route is not None else "(no route)"
        self.logger.debug("%s %s %d %.3fs", request.method, where, response.status, time)

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.DEBUG)


async def _secure(request: web.Request, response: web.StreamResponse) -> None:
    # A route's own caching stands (the web chat's versioned files); the rest get no-store.
    # A page that names who may embed it (CSP frame-ancestors: the web chat's frame, issue
    # 17) is not denied framing by the older header, which would contradict it in older
    # browsers. The rest are forced (aiohttp sets its own Server before this runs).
    policy = response.headers.get("Content-Security-Policy", "")
    framed = "frame-ancestors" in policy and "frame-ancestors 'none'" not in policy
    for name, value in SECURITY_HEADERS.items():
        if name == "X-Frame-Options" and framed:
            continue
        if name == "Cache-Control":
            response.headers.setdefault(name, value)
        else:
            response.headers[name] = value


def _ignoring_app(
    close: Callable[[], Awaitable[None]],
) -> Callable[[web.Application], Awaitable[None]]:
    async def closing(app: web.Application) -> None:
        await close()

    return closing


# A channel standing by (another instance holds its intake's lease, issue 19) is not down.
UP_STATES = ("connected", "standby")


class HttpServer:
    """Listens on `config.host`:`config.port` once started; stopped by the composition root.

    `channels` returns {channel name: health} (App.channel_health); `routes` and
    `add_routes` let the caller serve more pages from the same application; `on_shutdown`
    ends the requests they hold open (streams) when it stops.
    """

    def __init__(
        self,
        config: HttpConfig,
        metrics: Metrics,
        channels: ChannelStates,
        monitor: LoopMonitor,
        *,
        routes: Sequence[web.RouteDef] = (),
        add_routes: Callable[[web.Application], None] | None = None,
        on_shutdown: Sequence[Callable[[], Awaitable[None]]] = (),
        leases: Callable[[], Mapping[str, bool]] = dict,
        problems: Callable[[], list[str]] = list,
    ) -> None:
        self._host = config.host.strip("[]")  # "[::1]" in the config; bind wants "::1"
        self._port = config.port
        self._metrics, self._channels, self._monitor = metrics, channels, monitor
        self._leases = leases  # {lease: held by this instance} (issue 19)
        self._problems = problems  # more reasons to answer 503 (the database out of reach)
        self.app = web.Application(client_max_size=MAX_BODY)
        self.app.on_response_prepare.append(_secure)
        self.app.add_routes(
            [web.get("/metrics", self._scrape), web.get("/healthz", self._healthz), *routes]
        )
        if add_routes is not None:
            add_routes(self.app)
        for close in on_shutdown:
            # Run by aiohttp before it waits for requests still running (web_runner), so a
            # stream held open ends instead of holding the stop for its timeout.
            self.app.on_shutdown.append(_ignoring_app(close))
        self._runner: web.AppRunner | None = None
        self.port: int | None = None  # the port bound, once started

    async def start(self) -> None:
        runner = web.AppRunner(
            self.app, access_log=access_log, access_log_class=_AccessLogger, handle_signals=False
        )
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            where = f"{self._host}:{self._port}"
            if exc.errno == errno.EADDRINUSE:
                raise ServiceError(
                    f"cannot listen on {where}: the port is taken by another program "
                    "(another responder?); change http.port or stop the other program"
                ) from exc
            raise ServiceError(f"cannot listen on {where}: {exc.strerror or exc}") from exc
        self._runner = runner
        self.port = int(runner.addresses[0][1])  # differs from the config's when that is 0
        log.info("http endpoint listening on %s:%d", self._host, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def _scrape(self, request: web.Request) -> web.Response:
        return web.Response(
            body=self._metrics.render().encode(), headers={"Content-Type": CONTENT_TYPE}
        )

    async def _healthz(self, request: web.Request) -> web.Response:
        """200 "ok" while every channel is connected (or stands by while another instance
        holds its lease) and the loop responsive, each channel's state and each lease, held
        or stood by for, following; else 503 with one line per reason: each channel not
        connected with its problem and remedy."""
        channels = dict(self._channels())
        problems = [channel_line(n, h) for n, h in channels.items() if h.state not in UP_STATES]
        problems += self._monitor.problems()
        problems += self._problems()
        leases = [
            f"lease {n}: {'held' if held else 'standby'}" for n, held in self._leases().items()
        ]
        if problems:
            return web.Response(status=503, text="".join(p + "\n" for p in problems))
        lines = ["ok", *(f"{n}: {h.state}" for n, h in channels.items()), *leases]
        return web.Response(text="".join(line + "\n" for line in lines))
