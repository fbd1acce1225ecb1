"""The HTTP endpoint as an operator meets it: scraped metrics, health checks, safe headers."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
import testdb
from aiohttp import web

from responder.channels.base import ChannelHealth
from responder.channels.diagnose import Diagnosis
from responder.common.metrics import Metrics
from responder.common.tasks import TaskGroup
from responder.config.csat import HttpConfig
from responder.domain.models import Delivered, InboundMessage, OutboundReply
from responder.errors import PermanentError, ServiceError, TransientError
from responder.services.inbox import StoreInbox
from responder.services.outbox import Outbox, RetryPolicy
from responder.storage.store import Store, utcnow
from responder.testing._net import free_port
from responder.web.health import LoopMonitor
from responder.web.server import HttpServer

SINCE = datetime(2026, 5, 4, 3, 0, tzinfo=UTC)


@dataclass
class Endpoint:
    server: HttpServer
    metrics: Metrics
    states: dict[str, str]
    problems: dict[str, Diagnosis]
    monitor: LoopMonitor
    tasks: TaskGroup
    session: aiohttp.ClientSession
    scraped: list[str] = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.port}"

    async def get(self, path: str) -> tuple[int, str, dict[str, str]]:
        async with self.session.get(self.base + path) as response:
            return response.status, await response.text(), dict(response.headers)

    async def scrape(self) -> str:
        status, text, headers = await self.get("/metrics")
        assert status == 200
        assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return text


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in an exposition, matched on all its labels."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        series, _, value = line.rpartition(" ")
        metric, _, rest = series.partition("{")
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', rest))
        if metric == name and found == labels:
            return float(value)
    return None


async def echo(request: web.Request) -> web.Response:
    body = await request.read()
    return web.Response(text=f"{len(body)} bytes")


async def survey_page(request: web.Request) -> web.Response:
    return web.Response(text="thanks")


@pytest.fixture
async def endpoint() -> AsyncIterator[Endpoint]:
    metrics, tasks = Metrics(), TaskGroup()
    states = {"support": "connected", "telegram": "connected"}
    problems: dict[str, Diagnosis] = {}
    metrics.watch_channels(lambda: states)
    monitor = LoopMonitor(tasks)
    metrics.watch_loop(lambda: monitor.lag)
    server = HttpServer(
        HttpConfig(host="127.0.0.1", port=free_port()),
        metrics,
        lambda: {n: ChannelHealth(s, SINCE, problems.get(n)) for n, s in states.items()},
        monitor,
        routes=[web.post("/echo", echo)],
        add_routes=lambda app: app.router.add_get("/s/{token}", survey_page),
    )
    monitor.start()
    await server.start()
    session = aiohttp.ClientSession()
    try:
        yield Endpoint(server, metrics, states, problems, monitor, tasks, session)
    finally:
        await session.close()
        await server.stop()
        await tasks.cancel_all()


def message(external_id: str) -> InboundMessage:
    return InboundMessage("support", external_id, b"raw", datetime.now(UTC))


async def test_received_counts_only_new_rows_the_inbox_records(
    endpoint: Endpoint, tmp_path: Path
) -> None:
    store = Store(testdb.url(tmp_path / "db.sqlite"))
    await store.open()
    try:
        queue: asyncio.Queue[int] = asyncio.Queue()
        endpoint.metrics.watch_queue(queue.qsize)
        inbox = StoreInbox(store, queue, metrics=endpoint.metrics)
        before = await endpoint.scrape()
        await inbox.deliver("support", [message("a"), message("b")], None)
        # A re-fetch after a reconnect brings "b" again: recorded once, counted once.
        await inbox.deliver("support", [message("b"), message("c")], None)
        after = await endpoint.scrape()
    finally:
        await store.close()
    assert sample(before, "responder_messages_received_total", channel="support") is None
    assert sample(after, "responder_messages_received_total", channel="support") == 3
    assert sample(after, "responder_queue_depth") == 3
    assert "# TYPE responder_messages_received_total counter" in after
    assert "# TYPE responder_queue_depth gauge" in after
    assert "# HELP responder_send_failures_total " in after
    assert sample(after, "responder_build_info", version=__import__("responder").__version__) == 1


async def test_label_values_are_escaped(endpoint: Endpoint) -> None:
    endpoint.metrics.message_suppressed('we"ird\\chan\nnel', "bulk")
    endpoint.metrics.survey_answered("support", "link")
    text = await endpoint.scrape()
    assert 'responder_suppressed_total{channel="we\\"ird\\\\chan\\nnel",rule="bulk"} 1' in text
    assert 'responder_survey_answers_total{channel="support",via="link"} 1' in text
    # Every line is a comment or one sample: the newline in the label did not split one.
    for line in text.splitlines():
        assert line.startswith("# ") or re.fullmatch(r"[a-z_]+(\{.*\})? \S+", line), line


async def test_channel_up_follows_each_channels_state(endpoint: Endpoint) -> None:
    text = await endpoint.scrape()
    assert sample(text, "responder_channel_up", channel="support", state="connected") == 1
    assert sample(text, "responder_channel_up", channel="support", state="reconnecting") == 0
    endpoint.states["support"] = "reconnecting"
    text = await endpoint.scrape()
    assert sample(text, "responder_channel_up", channel="support", state="connected") == 0
    assert sample(text, "responder_channel_up", channel="support", state="reconnecting") == 1
    assert sample(text, "responder_channel_up", channel="telegram", state="connected") == 1


async def test_healthz_is_ok_only_while_every_channel_is_connected(endpoint: Endpoint) -> None:
    status, text, _ = await endpoint.get("/healthz")
    assert status == 200
    assert text.splitlines() == ["ok", "support: connected", "telegram: connected"]
    endpoint.states["support"] = "reconnecting"
    status, text, _ = await endpoint.get("/healthz")
    assert status == 503
    assert text.splitlines() == ["support: reconnecting since 2026-05-04T03:00:00+00:00"]


async def test_healthz_gives_the_reason_and_the_remedy(endpoint: Endpoint) -> None:
    endpoint.states["support"] = "failed"
    endpoint.problems["support"] = Diagnosis(
        "the password for support@toko.id was refused by imap.gmail.com",
        "Gmail needs an app password",
        "channels[0].password_file",
        True,
    )
    status, text, _ = await endpoint.get("/healthz")
    assert status == 503
    assert text.splitlines() == [
        "support: failed since 2026-05-04T03:00:00+00:00: the password for support@toko.id "
        "was refused by imap.gmail.com (channels[0].password_file): Gmail needs an app password"
    ]


async def test_healthz_and_metrics_report_a_blocked_event_loop(endpoint: Endpoint) -> None:
    await asyncio.sleep(0.6)  # the monitor has ticked at least once
    assert (await endpoint.get("/healthz"))[0] == 200

    async def blocking_work() -> None:
        time.sleep(2.5)  # noqa: ASYNC251 -- what a blocking call in a handler does to all

    await blocking_work()
    status, text, _ = await endpoint.get("/healthz")
    assert status == 503
    assert re.fullmatch(r"event loop lagged (\d+\.\d) s\n", text), text
    lag = sample(await endpoint.scrape(), "responder_event_loop_lag_seconds")
    assert lag is not None and lag >= 2.0
    # Once the loop runs freely again, so does the check.
    await asyncio.sleep(1.2)
    assert (await endpoint.get("/healthz"))[0] == 200


async def test_a_stopped_monitor_goes_stale() -> None:
    now = [100.0]
    monitor = LoopMonitor(TaskGroup(), clock=lambda: now[0])
    assert monitor.problems() == ["event loop monitor not started"]
    monitor.last_tick = 100.0
    assert monitor.responsive
    now[0] = 106.0
    assert monitor.problems() == ["event loop monitor last ticked 6.0 s ago"]


async def test_every_response_carries_the_security_headers(endpoint: Endpoint) -> None:
    for path in ("/metrics", "/healthz", "/nowhere", "/s/abc"):
        _, _, headers = await endpoint.get(path)
        assert headers["X-Content-Type-Options"] == "nosniff", path
        assert headers["Referrer-Policy"] == "no-referrer", path
        assert headers["X-Frame-Options"] == "DENY", path
        assert headers["Cache-Control"] == "no-store", path


async def test_a_body_over_16_kib_is_refused(endpoint: Endpoint) -> None:
    async with endpoint.session.post(endpoint.base + "/echo", data=b"x" * 1000) as response:
        assert response.status == 200 and await response.text() == "1000 bytes"
    async with endpoint.session.post(endpoint.base + "/echo", data=b"x" * 17_000) as response:
        assert response.status == 413
        assert response.headers["Cache-Control"] == "no-store"


async def test_the_access_log_never_shows_a_token(
    endpoint: Endpoint, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="responder.web.access")
    status, _, _ = await endpoint.get("/s/SeCrEtToKeN?r=5&c=hello")
    assert status == 200
    await asyncio.sleep(0.05)  # the access log line is written after the response
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "GET /s/{token} 200" in logged
    assert "SeCrEtToKeN" not in logged and "r=5" not in logged


async def test_a_taken_port_is_a_clear_error(endpoint: Endpoint) -> None:
    port = endpoint.server.port
    assert port is not None
    config = HttpConfig(host="127.0.0.1", port=port)
    second = HttpServer(config, Metrics(), dict, endpoint.monitor)
    with pytest.raises(ServiceError, match=f"127.0.0.1:{port}.*taken"):
        await second.start()
    await second.stop()


class FlakyChannel:
    """Fails each reply as the test says, then sends it."""

    name = "support"
    lanes = {"customer": 1}  # noqa: RUF012
    state = "connected"

    def __init__(self, failures: dict[int, list[Exception]]) -> None:
        self.failures = failures

    def lane(self, reply: OutboundReply) -> str:
        return "customer"

    async def start(self, inbox: object) -> None:
        pass

    async def send(self, reply: OutboundReply) -> Delivered | None:
        left = self.failures.get(reply.reply_id, [])
        if left:
            raise left.pop(0)
        return None

    async def stop(self) -> None:
        pass


async def test_the_outbox_counts_sends_retries_and_parked_replies(
    endpoint: Endpoint, tmp_path: Path
) -> None:
    store = Store(testdb.url(tmp_path / "db.sqlite"))
    await store.open()
    tasks = TaskGroup()
    channel = FlakyChannel(
        {
            1: [TransientError("421 busy")],
            2: [PermanentError("550 no such user")],
            3: [TransientError("timeout"), TransientError("timeout")],
        }
    )
    policy = RetryPolicy(base=timedelta(milliseconds=10), max_attempts=2)
    outbox = Outbox(store, {"support": channel}, tasks, utcnow, policy, metrics=endpoint.metrics)
    try:
        for reply_id in (1, 2, 3, 4):
            outbox.submit(OutboundReply(reply_id, "support", "", ("c@example.com",), b"m", "<id>"))
        # Read before the senders start: a scrape over HTTP lets the loop run them meanwhile.
        assert sample(await endpoint.scrape(), "responder_outbox_pending") == 4
        outbox.start()
        for _ in range(100):
            if outbox.pending == 0:
                break
            await asyncio.sleep(0.02)
        assert await outbox.drain(5)
        text = await endpoint.scrape()
    finally:
        await tasks.cancel_all()
        await store.close()

    def failures(error: str) -> float | None:
        return sample(text, "responder_send_failures_total", channel="support", error=error)

    assert sample(text, "responder_messages_sent_total", channel="support") == 2  # 1 and 4
    assert failures("transient") == 3  # once for 1, twice for 3
    assert failures("permanent") == 1  # 2
    assert failures("parked") == 2  # 2, and 3 after its second try
    assert sample(text, "responder_outbox_pending") == 0
