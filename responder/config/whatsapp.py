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
from responder.config.whatsapp_templates import WhatsAppTemplate, check_kinds
from responder.domain.window import ApprovedTemplate

__all__ = [
    "WEBHOOK_PREFIX",
    "WhatsAppChannelConfig",
    "WhatsAppTemplate",
    "check_webhooks",
]

WEBHOOK_PREFIX = "/webhooks/whatsapp/"  # + the channel's name: where Meta posts its events

_API_URL = re.compile(r"https?://[^\s/?#]+(/[^\s?#]*)?", re.ASCII)
_PHONE_NUMBER_ID = re.compile(r"[0-9]{6,20}", re.ASCII)
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
    templates: Annotated[dict[str, WhatsAppTemplate], AfterValidator(check_kinds)] = Field(
        default_factory=dict
    )

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

    def approved_templates(self) -> dict[str, ApprovedTemplate]:
        """Each message kind's template, its languages resolved for this channel."""
        return {kind: t.approved(self.language) for kind, t in self.templates.items()}

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
