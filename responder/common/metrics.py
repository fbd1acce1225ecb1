"""A small Prometheus registry: labelled counters, gauges read at scrape time, text format 0.0.4."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Mapping
from typing import Literal, TypeVar

from responder import __version__

log = logging.getLogger(__name__)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
CHANNEL_STATES = ("connected", "reconnecting", "starting", "failed", "stopped", "standby")
SendError = Literal["transient", "permanent", "parked", "expired"]
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

Labels = tuple[str, ...]
# A gauge's reading: one value, or one value per tuple of label values.
Reading = float | Mapping[Labels, float]


def escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class _Family:
    kind = ""

    def __init__(self, name: str, help: str, labels: Labels) -> None:
        if not _NAME.fullmatch(name) or not all(_LABEL.fullmatch(n) for n in labels):
            raise ValueError(f"bad metric or label name in {name}{labels}")
        self.name, self.help, self.labels = name, help, labels

    def samples(self) -> Mapping[Labels, float]:
        raise NotImplementedError

    def render(self) -> list[str]:
        lines = [f"# HELP {self.name} {_escape_help(self.help)}", f"# TYPE {self.name} {self.kind}"]
        for values, number in sorted(self.samples().items()):
            pairs = ",".join(
                f'{n}="{escape_label(v)}"' for n, v in zip(self.labels, values, strict=True)
            )
            lines.append(
                f"{self.name}{{{pairs}}} {_number(number)}"
                if pairs
                else f"{self.name} {_number(number)}"
            )
        return lines


class Counter(_Family):
    kind = "counter"

    def __init__(self, name: str, help: str, labels: Labels = ()) -> None:
        super().__init__(name, help, labels)
        self._values: dict[Labels, float] = {}

    def inc(self, *values: str, by: float = 1.0) -> None:
        if len(values) != len(self.labels):
            raise ValueError(f"{self.name} takes labels {self.labels}, got {values}")
        if by < 0:
            raise ValueError("a counter only goes up")
        self._values[values] = self._values.get(values, 0.0) + by

    def value(self, *values: str) -> float:
        return self._values.get(values, 0.0)

    def samples(self) -> Mapping[Labels, float]:
        return self._values


class Gauge(_Family):
    """Read through a callback at scrape time; no samples until something is watched."""

    kind = "gauge"

    def __init__(self, name: str, help: str, labels: Labels = ()) -> None:
        super().__init__(name, help, labels)
        self.read: Callable[[], Reading] | None = None

    def samples(self) -> Mapping[Labels, float]:
        if self.read is None:
            return {}
        try:
            reading = self.read()
        except Exception:
            # One broken source must not take the whole scrape down with it.
            log.exception("metric %s could not be read", self.name)
            return {}
        return {(): float(reading)} if isinstance(reading, int | float) else reading


F = TypeVar("F", bound=_Family)


class Registry:
    def __init__(self) -> None:
        self._families: dict[str, _Family] = {}

    def add(self, family: F) -> F:
        if family.name in self._families:
            raise ValueError(f"metric {family.name} registered twice")
        self._families[family.name] = family
        return family

    def render(self) -> str:
        return "".join(line + "\n" for f in self._families.values() for line in f.render())


class Metrics:
    """The daemon's metrics. Each part is handed this object and counts what it does; the
    gauges read live state (queue sizes, channel states) only when scraped."""

    def __init__(self, version: str = __version__) -> None:
        r = self.registry = Registry()
        self.received = r.add(
            Counter(
                "responder_messages_received_total", "New inbound messages recorded.", ("channel",)
            )
        )
        self.sent = r.add(
            Counter("responder_messages_sent_total", "Replies delivered.", ("channel",))
        )
        self.send_failures = r.add(
            Counter(
                "responder_send_failures_total",
                "Failed send tries by kind (transient: retried; permanent: refused for good). "
                "parked counts replies given up on, whatever the cause; expired, "
                "acknowledgements too old to send (delivery.ack_max_age).",
                ("channel", "error"),
            )
        )
        self.suppressed = r.add(
            Counter(
                "responder_suppressed_total",
                "Inbound messages not answered, by the rule that held the reply back.",
                ("channel", "rule"),
            )
        )
        self.sla_alerts = r.add(
            Counter("responder_sla_alerts_total", "SLA stages fired.", ("clock", "stage"))
        )
        self.survey_answers = r.add(
            Counter("responder_survey_answers_total", "Survey answers taken.", ("channel", "via"))
        )
        self.webhook_refusals = r.add(
            Counter(
                "responder_webhook_refused_total",
                "Webhook requests refused before parsing: a wrong signature or verify token, "
                "a body over the limit.",
                ("channel", "reason"),
            )
        )
        self.chat_refusals = r.add(
            Counter(
                "responder_webchat_refused_total",
                "Website chat requests refused: an origin not allowed, a bad token, a rate "
                "limit, a body over the limit.",
                ("channel", "reason"),
            )
        )
        self.delivery_statuses = r.add(
            Counter(
                "responder_delivery_status_total",
                "What the provider reported of sent replies (sent, delivered, read, failed), "
                "failures by the provider's error code.",
                ("channel", "status", "code"),
            )
        )
        self.queue_depth = r.add(
            Gauge("responder_queue_depth", "Recorded inbound messages waiting to be decided.")
        )
        self.outbox_pending = r.add(
            Gauge("responder_outbox_pending", "Replies queued, sending or waiting to retry.")
        )
        self.channel_up = r.add(
            Gauge(
                "responder_channel_up",
                "1 for each channel's current state, 0 for the others.",
                ("channel", "state"),
            )
        )
        self.loop_lag = r.add(
            Gauge("responder_event_loop_lag_seconds", "How late the event loop last woke a timer.")
        )
        self.lease_held = r.add(
            Gauge(
                "responder_lease_held",
                "1 for each lease this instance holds (an intake, the timers), 0 while it "
                "stands by for it (issue 19).",
                ("lease",),
            )
        )
        build = r.add(Gauge("responder_build_info", "The running version.", ("version",)))
        build.read = lambda: {(version,): 1.0}

    # -- counting ---------------------------------------------------------------------------

    def message_received(self, channel: str, count: int = 1) -> None:
        self.received.inc(channel, by=count)

    def message_sent(self, channel: str) -> None:
        self.sent.inc(channel)

    def send_failed(self, channel: str, error: SendError) -> None:
        self.send_failures.inc(channel, error)

    def message_suppressed(self, channel: str, rule: str) -> None:
        self.suppressed.inc(channel, rule)

    def webhook_refused(self, channel: str, reason: str) -> None:
        self.webhook_refusals.inc(channel, reason)

    def chat_refused(self, channel: str, reason: str) -> None:
        self.chat_refusals.inc(channel, reason)

    def delivery_status(self, channel: str, status: str, code: str = "") -> None:
        self.delivery_statuses.inc(channel, status, code)

    def sla_alert(self, clock: str, stage: str) -> None:
        self.sla_alerts.inc(clock, stage)

    def survey_answered(self, channel: str, via: str) -> None:
        self.survey_answers.inc(channel, via)

    # -- what the gauges read ---------------------------------------------------------------

    def watch_queue(self, qsize: Callable[[], int]) -> None:
        self.queue_depth.read = qsize

    def watch_outbox(self, pending: Callable[[], int]) -> None:
        self.outbox_pending.read = pending

    def watch_loop(self, lag: Callable[[], float]) -> None:
        self.loop_lag.read = lag

    def watch_channels(self, states: Callable[[], Mapping[str, str]]) -> None:
        def read() -> dict[Labels, float]:
            out: dict[Labels, float] = {}
            for name, state in states().items():
                for word in {*CHANNEL_STATES, state}:
                    out[(name, word)] = 1.0 if word == state else 0.0
            return out

        self.channel_up.read = read

    def watch_leases(self, leases: Callable[[], Mapping[str, bool]]) -> None:
        self.lease_held.read = lambda: {(name,): float(held) for name, held in leases().items()}

    def render(self) -> str:
        return self.registry.render()
