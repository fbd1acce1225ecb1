"""The `oauth2` block of an email channel: who issues the mailbox's sign-in (XOAUTH2)."""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlsplit

from pydantic import SecretStr, ValidationInfo, field_validator, model_validator

from responder.config.types import (
    ConfigPath,
    EnvName,
    FrozenModel,
    Text,
    fail,
    inline_secret,
    load_context,
    read_secret,
)

OAuthProvider = Literal["google", "microsoft", "generic"]

_URL = re.compile(r"https?://[^\s/?#]+(/[^\s?#]*)?(\?[^\s#]*)?")

# Google: "OAuth 2.0 for TV and Limited-Input Device Applications" does not allow the mail
# scope, so Google uses the installed-app flow (loopback redirect). https://mail.google.com/
# is the one scope IMAP and SMTP accept (developers.google.com/gmail/imap/xoauth2-protocol).
GOOGLE_AUTHORIZATION_URL = "https://accounts.google.com/o/oauth2/v2/auth"
GOOGLE_TOKEN_URL = "https://oauth2.googleapis.com/token"
GOOGLE_SCOPES = ("https://mail.google.com/",)
# Microsoft identity platform v2.0 endpoints (learn.microsoft.com, "Authenticate an IMAP,
# POP or SMTP connection using OAuth"); offline_access yields the refresh token.
MICROSOFT_LOGIN_URL = "https://login.microsoftonline.com"
MICROSOFT_SCOPES = (
    "https://outlook.office.com/IMAP.AccessAsUser.All",
    "https://outlook.office.com/SMTP.Send",
    "offline_access",
)


class OAuth2Config(FrozenModel):
    """The app registration a mailbox signs in through; `responder login` obtains the grant."""

    provider: OAuthProvider
    client_id: Text
    # Google's installed apps have a client secret that is not secret (RFC 8252 section 8.5)
    # but still required; Microsoft public clients have none.
    client_secret_file: ConfigPath | None = None
    client_secret_env: EnvName | None = None
    client_secret: SecretStr | None = None
    # Microsoft: the directory (tenant) id or domain, or "organizations" for any work account.
    tenant: Text = "organizations"
    scopes: tuple[Text, ...] | None = None  # default: the provider's mail scopes
    # Endpoints; the provider's own by default. generic needs token_url and one of the others.
    login_url: Text | None = None  # Microsoft's authority host (tests point it at a stand-in)
    authorization_url: Text | None = None
    token_url: Text | None = None
    device_authorization_url: Text | None = None

    @field_validator("client_secret", mode="before")
    @classmethod
    def _never_inline(cls, value: object) -> object:
        raise inline_secret("client_secret")

    @field_validator("login_url", "authorization_url", "token_url", "device_authorization_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not _URL.fullmatch(value):
            raise fail("url", "expected an https:// URL", show_input=False)
        if not value.startswith("https://") and not _loopback(value):
            # The client secret, codes and refresh tokens travel through these: RFC 6749
            # section 3.2 (and 10.3-10.5) requires TLS. This machine's own address stays
            # plain (a local stand-in, RFC 8252 section 7.3's loopback redirect).
            message = (
                "must start with https:// (the client secret and sign-in tokens travel "
                "through it and need TLS); plain http:// only to this machine (127.0.0.1, "
                "::1, localhost)"
            )
            raise fail("url", message, show_input=False)
        return value.rstrip("/")

    @model_validator(mode="after")
    def _complete(self, info: ValidationInfo) -> Self:
        if self.provider == "generic":
            if self.token_url is None:
                raise fail("oauth2", 'a generic provider needs "token_url"', ("token_url",))
            if self.authorization_url is None and self.device_authorization_url is None:
                message = (
                    'a generic provider needs "authorization_url" or "device_authorization_url"'
                )
                raise fail("oauth2", message, ("authorization_url",))
        secret_named = self.client_secret_file is not None or self.client_secret_env is not None
        if self.provider == "google" and not secret_named:
            # developers.google.com/identity/protocols/oauth2/native-app: the token endpoint
            # wants the Desktop app's client secret, on sign-in and on every refresh.
            message = (
                "Google needs the app's client secret: put it in a file (mode 644: the service "
                "reads it itself, and a desktop app's secret is not confidential, RFC 8252 "
                "section 8.5) and name it in client_secret_file, or use client_secret_env"
            )
            raise fail("oauth2", message, ("client_secret_file",), show_input=False)
        if secret_named:
            secret = read_secret(
                load_context(info), self.client_secret_file, self.client_secret_env, "client_secret"
            )
            # A frozen model's one write, made before validation hands the model to anyone.
            self.__dict__["client_secret"] = secret
        return self

    @property
    def mail_scopes(self) -> tuple[str, ...]:
        if self.scopes is not None:
            return self.scopes
        return {"google": GOOGLE_SCOPES, "microsoft": MICROSOFT_SCOPES}.get(self.provider, ())

    @property
    def authority(self) -> str:
        """Microsoft's authority URL for msal: the login host and the tenant."""
        return f"{self.login_url or MICROSOFT_LOGIN_URL}/{self.tenant}"

    @property
    def endpoints(self) -> tuple[str | None, str, str | None]:
        """(authorization, token, device authorization) URLs, defaults filled in."""
        if self.provider == "google":
            return (
                self.authorization_url or GOOGLE_AUTHORIZATION_URL,
                self.token_url or GOOGLE_TOKEN_URL,
                self.device_authorization_url,
            )
        if self.provider == "microsoft":
            base = f"{self.authority}/oauth2/v2.0"
            return (
                self.authorization_url or f"{base}/authorize",
                self.token_url or f"{base}/token",
                self.device_authorization_url or f"{base}/devicecode",
            )
        assert self.token_url is not None
        return self.authorization_url, self.token_url, self.device_authorization_url


def _loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def token_file(state_dir: Path, channel: str) -> Path:
    """Where `responder login` keeps a channel's refresh token (mode 0600)."""
    return state_dir / "oauth" / f"{channel}.json"
