"""The WhatsApp Cloud API channel's section: one business phone number, answered by webhook."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from responder.config.csat import HttpConfig
from responder.config.types import (
    ChannelName,
    ConfigPath,
    EnvName,
    FrozenModel,
    PositiveDuration,
    Text,
    byte_size,
    fail,
    inline_secret,
    load_context,
    read_secret,
)

__all__ = [
    "WEBHOOK_PREFIX",
    "WhatsAppChannelConfig",
    "WhatsAppTemplate",
    "check_webhooks",
    "unused_templates",
]

WEBHOOK_PREFIX = "/webhooks/whatsapp/"  # + the channel's name: where Meta posts its events

_API_URL = re.compile(r"https?://[^\s/?#]+(/[^\s?#]*)?", re.ASCII)
_PHONE_NUMBER_ID = re.compile(r"[0-9]{6,20}", re.ASCII)
_KIND = re.compile(r"[a-z0-9][a-z0-9_-]{0,39}", re.ASCII)  # our template names, as rules say
# Meta's rules for a message template: lowercase letters, digits and _; a language code like
# id, en or en_US (WhatsApp's "Supported languages").
_WA_TEMPLATE = re.compile(r"[a-z0-9_]{1,512}", re.ASCII)
_WA_LANGUAGE = re.compile(r"[a-z]{2,3}(?:_[A-Z]{2,4})?", re.ASCII)
# What each secret must look like once read, and what to say when it does not. The shapes
# are loose on purpose (Meta changes token formats); they catch a wrong file, not a typo.
_SHAPES = {
    "access_token": (
        re.compile(r"\S{20,}"),
        "this is not an access token as Meta gives it (one line of at least 20 characters, "
        "no spaces: a system user's token from Meta Business Settings)",
    ),
    "app_secret": (
        re.compile(r"\S{16,}"),
        "this is not an app secret as Meta gives it (the App Secret under App settings > "
        "Basic in the Meta app dashboard: 32 hexadecimal characters)",
    ),
    "verify_token": (
        re.compile(r"[^\r\n]{8,}"),
        "the verify token must be one line of at least 8 characters (a random text you also "
        "type into the webhook's Verify token in the Meta app dashboard)",
    ),
}


def _phone_number_id(value: object) -> object:
    # YAML reads an unquoted 106540352242922 as a number; it is an ID, kept as text.
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        value = str(value)
    if isinstance(value, str) and _PHONE_NUMBER_ID.fullmatch(value):
        return value
    message = (
        "expected the phone number ID from WhatsApp Manager > API Setup (6-20 digits, like "
        '"106540352242922"), not the phone number itself'
    )
    raise fail("phone_number_id", message)


def _pattern(kind: str, rx: re.Pattern[str], message: str) -> AfterValidator:
    def check(value: str) -> str:
        if not rx.fullmatch(value):
            raise fail(kind, message)
        return value

    return AfterValidator(check)


TemplateName = Annotated[
    str,
    _pattern("template", _WA_TEMPLATE, "expected a template name as Meta shows it (a-z, 0-9, _)"),
]
LanguageCode = Annotated[
    str,
    _pattern("language", _WA_LANGUAGE, "expected a language code as Meta shows it: id, en, en_US"),
]


class WhatsAppTemplate(FrozenModel):
    """A message template Meta approved, for writing first or after the 24-hour window."""

    name: TemplateName
    language: LanguageCode


class WhatsAppChannelConfig(FrozenModel):
    """One WhatsApp business phone number: Meta posts messages to our webhook, replies go
    to the Graph API."""

    name: ChannelName
    type: Literal["whatsapp"]
    phone_number_id: Annotated[str, BeforeValidator(_phone_number_id)]
    access_token_file: ConfigPath | None = None
    access_token_env: EnvName | None = None
    access_token: SecretStr | None = None  # read at load time, never written in the file
    # Signs each webhook request (X-Hub-Signature-256): a request it does not sign is refused.
    app_secret_file: ConfigPath | None = None
    app_secret_env: EnvName | None = None
    app_secret: SecretStr | None = None
    # Meta's subscription handshake echoes it back: who knows it may point Meta at us.
    verify_token_file: ConfigPath | None = None
    verify_token_env: EnvName | None = None
    verify_token: SecretStr | None = None
    api_url: Text = "https://graph.facebook.com/v23.0"  # the Graph API, with its version
    display_name: Text | None = None  # the shop's name in replies; default: the channel name
    language: Literal["id", "en"] = "en"
    # The Telegram channel whose staff group hears this number's tickets (config/desk.py).
    staff_desk: ChannelName | None = None
    timeout: PositiveDuration = timedelta(seconds=15)  # per Graph API request
    # The largest webhook request read; Meta batches at most a few messages per request.
    max_body: int = Field(default=1024 * 1024, ge=16 * 1024, le=16 * 1024 * 1024)
    # Our message kind (a template name: csat_survey, acknowledgement...) -> the approved
    # WhatsApp template sent instead when the customer last wrote over 24 hours ago.
    templates: dict[str, WhatsAppTemplate] = Field(default_factory=dict)

    @field_validator("access_token", "app_secret", "verify_token", mode="before")
    @classmethod
    def _never_inline(cls, value: object, info: ValidationInfo) -> object:
        raise inline_secret(str(info.field_name))

    @field_validator("api_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not _API_URL.fullmatch(value):
            raise fail("api_url", "expected an http:// or https:// URL", show_input=False)
        return value.rstrip("/")

    @field_validator("max_body", mode="before")
    @classmethod
    def _byte_size(cls, value: object) -> object:
        return byte_size(value)

    @field_validator("templates")
    @classmethod
    def _kinds(cls, value: dict[str, WhatsAppTemplate]) -> dict[str, WhatsAppTemplate]:
        for kind in value:
            if not _KIND.fullmatch(kind):
                message = f'"{kind}" is not one of our template names (lowercase letters, '
                message += "digits, - or _, like csat_survey)"
                raise fail("template", message, (kind,), show_input=False)
        return value

    @model_validator(mode="after")
    def _load_secrets(self, info: ValidationInfo) -> Self:
        ctx = load_context(info)
        for key, (shape, message) in _SHAPES.items():
            file, env = getattr(self, f"{key}_file"), getattr(self, f"{key}_env")
            secret = read_secret(ctx, file, env, key)
            if secret is not None and not shape.fullmatch(secret.get_secret_value()):
                where = f"{key}_file" if file is not None else f"{key}_env"
                raise fail("secret", message, (where,), show_input=False)
            # A frozen model's one write, made before validation hands the model to anyone.
            self.__dict__[key] = secret
        return self

    @property
    def webhook_path(self) -> str:
        """Where the http endpoint takes this channel's webhook (Meta's Callback URL)."""
        return f"{WEBHOOK_PREFIX}{self.name}"

    @property
    def messages_url(self) -> str:
        """The Graph API endpoint replies are posted to."""
        return f"{self.api_url}/{self.phone_number_id}/messages"


def check_webhooks(http: HttpConfig | None, channels: Sequence[object]) -> None:
    """A WhatsApp channel is reached only through the http endpoint, at a public address;
    the error is at the channel and says where Meta must be pointed."""
    for index, channel in enumerate(channels):
        if not isinstance(channel, WhatsAppChannelConfig):
            continue
        if http is not None and http.public_url is not None:
            continue
        where = f"<public_url>{channel.webhook_path}"
        fix = (
            "add public_url to the http section"
            if http is not None
            else ("add an http section with public_url")
        )
        message = (
            "Meta delivers WhatsApp messages to a webhook on the daemon's HTTP endpoint: "
            f"{fix} (the https:// address Meta reaches us at, through your proxy), and set "
            f"the Callback URL in the Meta app dashboard to {where}"
        )
        raise fail("webhook", message, ("channels", index), show_input=False)


TEMPLATES_UNUSED = (
    "read but not used yet: this version sends no templates, so an automatic message (a "
    "survey) to a customer who last wrote over 24 hours ago is refused by WhatsApp and "
    "parked (responder status shows it); staff answers then are held back and staff told"
)


def unused_templates(channels: Sequence[object]) -> list[tuple[tuple[str | int, ...], str]]:
    """(key path, message) for each whatsapp channel's `templates`, which nothing sends yet:
    a key the admin sets must not look as if it worked."""
    return [
        (("channels", index, "templates"), TEMPLATES_UNUSED)
        for index, channel in enumerate(channels)
        if isinstance(channel, WhatsAppChannelConfig) and channel.templates
    ]
