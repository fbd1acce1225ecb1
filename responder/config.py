"""The admin's configuration file: typed, frozen models and the loader that checks them."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo

from pydantic import (
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from responder.config_calendar import BusinessHoursConfig
from responder.config_csat import CsatConfig, HttpConfig, check_csat
from responder.config_errors import ConfigSource, problems_from
from responder.config_rules import DEFAULT_RULES, RulesConfig, VipPatterns
from responder.config_sla import SlaConfig, check_references
from responder.config_types import (
    ChannelName,
    ConfigPath,
    Duration,
    EmailAddress,
    EnvName,
    FrozenModel,
    LoadContext,
    PasswordHolder,
    Port,
    PositiveDuration,
    Security,
    Text,
    TimezoneName,
    fail,
    inline_secret,
    load_context,
    read_secret,
    unique_names,
)
from responder.errors import ConfigError, ConfigProblem
from responder.yamlload import load_yaml

__all__ = [
    "ChannelConfig",
    "Config",
    "ConfigSource",
    "DeliveryConfig",
    "Duration",
    "EmailChannelConfig",
    "GuardsConfig",
    "ImapConfig",
    "ReplyCapConfig",
    "RetentionConfig",
    "Security",
    "SmtpConfig",
    "TelegramChannelConfig",
    "TelegramLimitsConfig",
    "library_limits",
    "load_config",
    "load_config_text",
]


class ImapConfig(PasswordHolder):
    """Where and how to read a channel's incoming mail."""

    host: Text
    port: Port
    security: Security = "tls"
    username: Text
    password_file: ConfigPath | None = None
    password_env: EnvName | None = None
    password: SecretStr | None = None  # read at load time, never written in the file
    folder: Text = "INBOX"
    idle: bool = Field(default=True, strict=True)
    poll_interval: PositiveDuration = timedelta(seconds=60)
    backfill: Duration = timedelta(0)  # first run only: also answer mail this old; 0 = from now
    timeout: PositiveDuration = timedelta(seconds=30)  # per IMAP command
    fetch_chunk: int = Field(default=100, strict=True, ge=1, le=500)
    # And at most this many bytes of mail per request (by RFC822.SIZE), so memory follows this
    # budget, not the size of a backlog; a bigger message is fetched on its own.
    fetch_bytes: int = Field(default=8 * 1024 * 1024, ge=64 * 1024, le=1024 * 1024 * 1024)
    # Staff reply detection (issue 5). A folder staff mail clients save sent mail to: a staff
    # reply found there stops the first-response clock. None: not watched.
    sent_folder: Text | None = None
    # \Answered set on a customer's message by a staff mail client counts as a reply.
    watch_answered: bool = Field(default=True, strict=True)
    # Marking a conversation resolved: an IMAP keyword set on a message (e.g. "$Done"), or a
    # folder staff move finished conversations to (e.g. "Done"). None: not used.
    done_keyword: Text | None = None
    done_folder: Text | None = None

    @field_validator("fetch_bytes", mode="before")
    @classmethod
    def _byte_size(cls, value: object) -> object:
        """8MB, 512KB or a number of bytes; KB and MB are 1024 and 1024 x 1024 bytes."""
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise fail("byte_size", "expected a size like 8MB, 512KB or a number of bytes")
        match = re.fullmatch(r"\s*(\d+)\s*([KMG]B?|B)?\s*", str(value), re.IGNORECASE | re.ASCII)
        if match is None:
            raise fail("byte_size", "expected a size like 8MB, 512KB or a number of bytes")
        unit = (match.group(2) or "B")[0].upper()
        return int(match.group(1)) * {"B": 1, "K": 1024, "M": 1024**2, "G": 1024**3}[unit]


class SmtpConfig(PasswordHolder):
    """Where and how to send a channel's replies."""

    host: Text
    port: Port
    security: Security = "starttls"
    username: Text | None = None
    password_file: ConfigPath | None = None
    password_env: EnvName | None = None
    password: SecretStr | None = None
    timeout: PositiveDuration = timedelta(seconds=30)
    # None sends the null reverse-path "<>" RFC 3834 section 3.3 recommends for auto-replies;
    # an address is for providers that refuse null senders.
    envelope_from: EmailAddress | None = None

    def _password_needed(self) -> bool:
        return self.username is not None


class EmailChannelConfig(FrozenModel):
    """One customer-facing mailbox: read over IMAP, answered over SMTP."""

    name: ChannelName
    type: Literal["email"]
    address: EmailAddress  # replies come from it; mail from it (or an alias) is our own
    display_name: Text | None = None
    aliases: tuple[EmailAddress, ...] = ()
    language: Literal["id", "en"] = "en"
    # Who hears about a message a rule flags with notify_staff (and, later, SLA reminders).
    staff: tuple[EmailAddress, ...] = ()
    imap: ImapConfig
    smtp: SmtpConfig


class TelegramLimitsConfig(FrozenModel):
    """Telegram's send limits (Bots FAQ); lower them if the Bot API answers 429 often."""

    per_chat_interval: PositiveDuration = timedelta(seconds=1)
    global_per_second: float = Field(default=30.0, strict=True, gt=0, le=1000)
    group_per_minute: int = Field(default=20, strict=True, ge=1, le=10_000)


_TOKEN = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{20,}")
_API_URL = re.compile(r"https?://[^\s/?#]+(/[^\s?#]*)?")


class TelegramChannelConfig(FrozenModel):
    """One Telegram bot: customers write to it privately, staff answer from a group."""

    name: ChannelName
    type: Literal["telegram"]
    token_file: ConfigPath | None = None
    token_env: EnvName | None = None
    token: SecretStr | None = None  # read at load time, never written in the file
    api_url: Text = "https://api.telegram.org"  # or a self-hosted Bot API server
    display_name: Text | None = None  # the shop's name in replies; default: the channel name
    language: Literal["id", "en"] = "en"
    # A group (negative id) where customer messages are posted and staff reply.
    staff_chat_id: int | None = Field(default=None, strict=True)
    poll_timeout: PositiveDuration = timedelta(seconds=30)  # getUpdates long polling
    timeout: PositiveDuration = timedelta(seconds=15)  # per Bot API request
    limits: TelegramLimitsConfig = Field(default_factory=TelegramLimitsConfig)

    @field_validator("token", mode="before")
    @classmethod
    def _never_inline(cls, value: object) -> object:
        raise inline_secret("token")

    @field_validator("api_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not _API_URL.fullmatch(value):
            raise fail("api_url", "expected an http:// or https:// URL", show_input=False)
        return value.rstrip("/")

    @field_validator("poll_timeout")
    @classmethod
    def _poll(cls, value: timedelta) -> timedelta:
        if value > timedelta(seconds=50):
            raise fail("poll_timeout", "at most 50s: proxies cut longer requests")
        return value

    @model_validator(mode="after")
    def _load_token(self, info: ValidationInfo) -> Self:
        token = read_secret(load_context(info), self.token_file, self.token_env, "token")
        if not _TOKEN.fullmatch(token.get_secret_value()):
            where = "token_file" if self.token_file is not None else "token_env"
            raise fail(
                "secret",
                "this is not a bot token as BotFather gives it (digits:letters)",
                (where,),
                show_input=False,
            )
        # A frozen model's one write, made before validation hands the model to anyone.
        self.__dict__["token"] = token
        return self

    @property
    def bot_url(self) -> str:
        """The base URL python-telegram-bot appends the token and method to."""
        return f"{self.api_url}/bot"


ChannelConfig = Annotated[EmailChannelConfig | TelegramChannelConfig, Field(discriminator="type")]


class ReplyCapConfig(FrozenModel):
    """The per-sender cap on automatic replies in a rolling window."""

    max_replies: int = Field(default=3, strict=True, ge=1)
    window: PositiveDuration = timedelta(hours=24)


class GuardsConfig(FrozenModel):
    """Protections that stop responder from replying too much."""

    reply_cap: ReplyCapConfig = Field(default_factory=ReplyCapConfig)


class DeliveryConfig(FrozenModel):
    """How a reply that failed for a passing reason (SMTP 4xx, timeout) is tried again."""

    retry_base: PositiveDuration = timedelta(seconds=10)
    retry_cap: PositiveDuration = timedelta(minutes=30)
    # RFC 5321 section 4.5.4.1: temporary failures are retried for days, not a number of
    # tries; counted from when the reply was recorded.
    lifetime: PositiveDuration = timedelta(days=2)
    # An acknowledgement (or out-of-hours reply, or Telegram welcome) this old is not sent
    # any more; null: always sent.
    ack_max_age: PositiveDuration | None = timedelta(hours=6)
    # The longest pause between two probes of a server that is out of reach.
    probe_interval: PositiveDuration = timedelta(seconds=30)
    # Optional: also give up after this many tries, however young the reply.
    max_attempts: int | None = Field(default=None, strict=True, ge=1, le=10_000)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.retry_cap < self.retry_base:
            raise fail("delivery", "must be at least retry_base", ("retry_cap",))
        if self.ack_max_age is not None and self.ack_max_age > self.lifetime:
            message = "at most lifetime: an older reply is given up on anyway"
            raise fail("delivery", message, ("ack_max_age",))
        return self


class RetentionConfig(FrozenModel):
    """How long message texts are kept; rows, times and figures are kept for ever."""

    bodies_after: PositiveDuration = timedelta(days=180)

    @field_validator("bodies_after")
    @classmethod
    def _at_least_a_day(cls, value: timedelta) -> timedelta:
        if value < timedelta(days=1):
            raise fail("duration", "at least 1d: texts younger than a day are still in use")
        return value


class Config(FrozenModel):
    """The whole configuration file, validated; load it with load_config."""

    timezone: TimezoneName = "UTC"
    state_dir: ConfigPath
    database_url: Text | None = None
    templates_dir: ConfigPath | None = None  # the admin's templates, searched before ours
    queue_size: int = Field(default=1000, strict=True, ge=1, le=100_000)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    guards: GuardsConfig = Field(default_factory=GuardsConfig)
    delivery: DeliveryConfig = Field(default_factory=DeliveryConfig)
    business_hours: BusinessHoursConfig | None = None  # absent: always open
    vip: VipPatterns = ()
    rules: RulesConfig = DEFAULT_RULES
    sla: SlaConfig | None = None  # absent: no response-time promises
    csat: CsatConfig | None = None  # absent: no satisfaction surveys
    http: HttpConfig | None = None  # absent: no web endpoint (metrics, health, survey pages)
    retention: RetentionConfig | None = None  # absent: message bodies are kept for ever
    channels: tuple[ChannelConfig, ...] = Field(min_length=1)

    _source: ConfigSource = PrivateAttr(default_factory=ConfigSource)

    @field_validator("channels")
    @classmethod
    def _unique_names(cls, channels: tuple[ChannelConfig, ...]) -> tuple[ChannelConfig, ...]:
        unique_names(channels, "channels", "channel")
        return channels

    @model_validator(mode="after")
    def _sla_references(self) -> Self:
        # Policies name channels and rules name policies: only checkable with everything loaded.
        check_references(self.sla, self.rules, self.channels)
        check_csat(self.csat, self.http, self.channels)
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def database_url_resolved(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.state_dir / 'responder.db'}"

    @property
    def source(self) -> ConfigSource:
        """The file and key positions this config was loaded from, for locating problems."""
        return self._source


def load_config_text(
    text: str, filename: str, base_dir: Path, *, environ: Mapping[str, str] | None = None
) -> Config:
    """Parse and validate config text; relative paths resolve against base_dir.

    Reads the secrets it names (from files, or environ which defaults to os.environ). Raises
    ConfigError listing every problem found. Library limits (see library_limits) are not
    errors here: `responder check` reports them and the daemon refuses to start on them.
    """
    data, marks = load_yaml(text, filename)
    source = ConfigSource(filename, marks)
    if data is None:
        raise ConfigError([ConfigProblem(filename, None, None, "", "the config file is empty")])
    context = LoadContext(base_dir.absolute(), os.environ if environ is None else environ)
    try:
        config = Config.model_validate(data, context=context)
    except ValidationError as exc:
        problems = problems_from(exc, Config, source)
    else:
        config._source = source
        return config
    # Raised outside the except block so no traceback chains pydantic's error, which
    # quotes raw input (an inline password included).
    raise ConfigError(problems)


def load_config(path: Path, *, environ: Mapping[str, str] | None = None) -> Config:
    """Load the config file at path; see load_config_text. A missing file is a ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise ConfigError(
            [ConfigProblem(str(path), None, None, "", f"cannot read: {reason}")]
        ) from None
    return load_config_text(text, str(path), path.absolute().parent, environ=environ)


def library_limits(config: Config) -> list[ConfigProblem]:
    """What the config asks for that the libraries we use cannot do."""
    problems = []
    for index, channel in enumerate(config.channels):
        if isinstance(channel, EmailChannelConfig) and channel.imap.security == "starttls":
            problems.append(
                config.source.problem(
                    ("channels", index, "imap", "security"),
                    "aioimaplib cannot do STARTTLS for IMAP; "
                    "use security: tls (port 993) or none on loopback",
                )
            )
    return problems
