"""The channels section: email (IMAP and SMTP, presets, OAuth2), Telegram bots, WhatsApp
numbers (config/whatsapp.py) and website chats (config/webchat.py)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal, Self

from pydantic import (
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from responder.config.oauth import OAuth2Config
from responder.config.presets import Provider, apply_preset
from responder.config.types import (
    ChannelName,
    ConfigPath,
    Duration,
    EmailAddress,
    EnvName,
    FrozenModel,
    PasswordHolder,
    Port,
    PositiveDuration,
    Security,
    Text,
    byte_size,
    fail,
    inline_secret,
    load_context,
    read_secret,
)
from responder.config.webchat import WebChatChannelConfig
from responder.config.whatsapp import WhatsAppChannelConfig

Auth = Literal["password", "oauth2"]


class ImapConfig(PasswordHolder):
    """Where and how to read a channel's incoming mail."""

    host: Text
    port: Port
    security: Security = "tls"
    username: Text
    # password: password_file or password_env; oauth2: XOAUTH2 with the channel's oauth2 grant.
    auth: Auth = "password"
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
    # reply found there stops the first-response clock. None: not watched. "auto" (what the
    # presets set): the folder the server marks \Sent, else one with a usual name (imap.py).
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
        return byte_size(value)

    def _password_needed(self) -> bool:
        return self.auth == "password"


class SmtpConfig(PasswordHolder):
    """Where and how to send a channel's replies."""

    host: Text
    port: Port
    security: Security = "starttls"
    username: Text | None = None
    auth: Auth = "password"
    password_file: ConfigPath | None = None
    password_env: EnvName | None = None
    password: SecretStr | None = None
    timeout: PositiveDuration = timedelta(seconds=30)
    # None sends the null reverse-path "<>" RFC 3834 section 3.3 recommends for auto-replies;
    # an address is for providers that refuse null senders.
    envelope_from: EmailAddress | None = None

    def _password_needed(self) -> bool:
        return self.username is not None and self.auth == "password"


class EmailChannelConfig(FrozenModel):
    """One customer-facing mailbox: read over IMAP, answered over SMTP."""

    name: ChannelName
    type: Literal["email"]
    # A known mail service fills in imap and smtp (responder/config_presets.py); generic: the
    # admin writes both.
    provider: Provider = "generic"
    host: Text | None = None  # the mail server, for provider cpanel
    # Shorthands for imap's and smtp's password_file/_env (read there).
    password_file: ConfigPath | None = None
    password_env: EnvName | None = None
    oauth2: OAuth2Config | None = None  # for auth: oauth2 (`responder login` signs in)
    address: EmailAddress  # replies come from it; mail from it (or an alias) is our own
    display_name: Text | None = None
    aliases: tuple[EmailAddress, ...] = ()
    language: Literal["id", "en"] = "en"
    # Who hears about a message a rule flags with notify_staff (and, later, SLA reminders).
    staff: tuple[EmailAddress, ...] = ()
    # The Telegram channel whose staff group hears this mailbox's tickets, or "none"; absent:
    # the one Telegram channel with a staff_chat_id, if there is exactly one (config/desk.py).
    staff_desk: ChannelName | None = None
    imap: ImapConfig
    smtp: SmtpConfig

    @model_validator(mode="before")
    @classmethod
    def _preset(cls, data: object) -> object:
        return apply_preset(data)

    @model_validator(mode="after")
    def _oauth(self) -> Self:
        users = [s for s, c in (("imap", self.imap), ("smtp", self.smtp)) if c.auth == "oauth2"]
        if users and self.oauth2 is None:
            message = (
                f"{users[0]} signs in with OAuth2: add an oauth2 block with provider and "
                "client_id (see README, Connect your mailbox)"
            )
            if self.provider != "generic":
                message = (
                    f"provider {self.provider} signs in with OAuth2: add an oauth2 block with "
                    "your app's client_id (see README, Connect your mailbox)"
                )
                if self.provider == "google-workspace":
                    message += ", or password_file for an app password if your admin allows them"
            raise fail("oauth2", message, show_input=False)
        if self.smtp.auth == "oauth2" and self.smtp.username is None:
            raise fail("oauth2", "OAuth2 needs a username (the mailbox address)", ("smtp",))
        return self

    def password_key(self, service: Literal["imap", "smtp"]) -> str:
        """The key the admin gave `service`'s password by, relative to the channel: the
        channel's own password_file/_env (a preset shares it) or imap's or smtp's."""
        section = self.imap if service == "imap" else self.smtp
        name = "password_env" if section.password_env is not None else "password_file"
        shared = self.password_file is not None or self.password_env is not None
        return name if shared else f"{service}.{name}"

    @property
    def uses_oauth(self) -> bool:
        return "oauth2" in (self.imap.auth, self.smtp.auth)


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
        if token is not None and not _TOKEN.fullmatch(token.get_secret_value()):
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
        """The base URL the token and then "/<method>" are appended to (Bot API: /bot<token>/)."""
        return f"{self.api_url}/bot"


ChannelConfig = Annotated[
    EmailChannelConfig | TelegramChannelConfig | WhatsAppChannelConfig | WebChatChannelConfig,
    Field(discriminator="type"),
]
