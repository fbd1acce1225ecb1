"""The admin's configuration file: typed, frozen models and the loader that checks them."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Literal, Self
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

from responder.config.calendar import BusinessHoursConfig
from responder.config.channels import (
    ChannelConfig,
    EmailChannelConfig,
    ImapConfig,
    SmtpConfig,
    TelegramChannelConfig,
    TelegramLimitsConfig,
)
from responder.config.cluster import ClusterConfig
from responder.config.csat import CsatConfig, HttpConfig, check_csat
from responder.config.database import DatabaseUrl, read_password, with_password
from responder.config.desk import check_desks
from responder.config.problems import ConfigSource, problems_from
from responder.config.rules import DEFAULT_RULES, RulesConfig, VipPatterns
from responder.config.secrets import secret_warnings
from responder.config.sla import SlaConfig, check_references
from responder.config.tickets import TicketsConfig
from responder.config.types import (
    ConfigPath,
    Duration,
    EnvName,
    FrozenModel,
    LoadContext,
    PositiveDuration,
    SecretsMode,
    Security,
    TimezoneName,
    fail,
    inline_secret,
    load_context,
    unique_names,
)
from responder.config.webchat import (
    WebChatChannelConfig,
    check_email_channels,
    check_public_url,
)
from responder.config.whatsapp import WhatsAppChannelConfig, WhatsAppTemplate, check_webhooks
from responder.config.whatsapp_templates import check_template_kinds
from responder.config.yamlload import load_yaml
from responder.errors import ConfigError, ConfigProblem

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
    "WebChatChannelConfig",
    "WhatsAppChannelConfig",
    "WhatsAppTemplate",
    "library_limits",
    "load_config",
    "load_config_text",
]


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
    database_url: DatabaseUrl | None = None  # absent: SQLite, state_dir/responder.db
    database_password_file: ConfigPath | None = None  # PostgreSQL's password, or _env
    database_password_env: EnvName | None = None
    database_password: SecretStr | None = None  # read at load time, never written in the file
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
    tickets: TicketsConfig | None = None  # absent: no auto-close, no reopen window
    # Several instances on one database (issue 19): the leases' ttl and heartbeat.
    cluster: ClusterConfig = Field(default_factory=ClusterConfig)
    channels: tuple[ChannelConfig, ...] = Field(min_length=1)

    _source: ConfigSource = PrivateAttr(default_factory=ConfigSource)
    _warnings: tuple[ConfigProblem, ...] = PrivateAttr(default=())

    @field_validator("channels")
    @classmethod
    def _unique_names(cls, channels: tuple[ChannelConfig, ...]) -> tuple[ChannelConfig, ...]:
        unique_names(channels, "channels", "channel")
        return channels

    @field_validator("database_password", mode="before")
    @classmethod
    def _never_inline(cls, value: object) -> object:
        raise inline_secret("database_password")

    @model_validator(mode="after")
    def _database_password(self, info: ValidationInfo) -> Self:
        ctx = load_context(info)
        file, env = self.database_password_file, self.database_password_env
        # A frozen model's one write, made before validation hands the model to anyone.
        self.__dict__["database_password"] = read_password(ctx, self.database_url, file, env)
        return self

    @model_validator(mode="after")
    def _sla_references(self) -> Self:
        # Policies name channels and rules name policies: only checkable with everything loaded.
        check_references(self.sla, self.rules, self.channels)
        check_csat(self.csat, self.http, self.channels)
        check_desks(self.channels)
        check_webhooks(self.http, self.channels)
        check_public_url(self.http, self.channels)
        check_email_channels(self.channels)
        check_template_kinds(self.rules, self.channels)
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def database_url_resolved(self) -> str:
        """The URL to connect with, its password (from file or environment) set in: never
        to be logged (storage.engine.where() shows it without)."""
        if self.database_url is None:
            return f"sqlite+aiosqlite:///{self.state_dir / 'responder.db'}"
        named = self.database_password_file is not None or self.database_password_env is not None
        if named and self.database_password is None:
            keys = ("database_password_file", "database_password_env")
            problems = [w for w in self.warnings if w.path in keys]
            raise ConfigError(
                problems or [self.source.problem(("database_url",), "no password was read")]
            )
        return with_password(self.database_url, self.database_password)

    @property
    def source(self) -> ConfigSource:
        """The file and key positions this config was loaded from, for locating problems."""
        return self._source

    @property
    def warnings(self) -> tuple[ConfigProblem, ...]:
        """Secrets that could not be read, when loaded with secrets="warn" (`check`)."""
        return self._warnings


def load_config_text(
    text: str,
    filename: str,
    base_dir: Path,
    *,
    environ: Mapping[str, str] | None = None,
    secrets: SecretsMode = "require",
) -> Config:
    """Parse and validate config text; relative paths resolve against base_dir.

    Reads the secrets it names (from files, or environ which defaults to os.environ): one
    that cannot be read is an error with secrets="require", left None and listed in
    Config.warnings with "warn", and none is read with "skip". Raises ConfigError listing
    every problem found. Library limits (see library_limits) are not errors here:
    `responder check` reports them and the daemon refuses to start on them.
    """
    data, marks = load_yaml(text, filename)
    source = ConfigSource(filename, marks)
    if data is None:
        raise ConfigError([ConfigProblem(filename, None, None, "", "the config file is empty")])
    environ = os.environ if environ is None else environ
    context = LoadContext(base_dir.absolute(), environ, secrets)
    try:
        config = Config.model_validate(data, context=context)
    except ValidationError as exc:
        problems = problems_from(exc, Config, source)
    else:
        config._source = source
        config._warnings = secret_warnings(config, context.unread, source)
        return config
    # Raised outside the except block so no traceback chains pydantic's error, which
    # quotes raw input (an inline password included).
    raise ConfigError(problems)


def load_config(
    path: Path, *, environ: Mapping[str, str] | None = None, secrets: SecretsMode = "require"
) -> Config:
    """Load the config file at path; see load_config_text. A missing file is a ConfigError."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        reason = getattr(exc, "strerror", None) or "not UTF-8 text"
        raise ConfigError(
            [ConfigProblem(str(path), None, None, "", f"cannot read: {reason}")]
        ) from None
    folder = path.absolute().parent
    return load_config_text(text, str(path), folder, environ=environ, secrets=secrets)


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
