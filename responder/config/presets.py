"""Provider presets: a known mail service's hosts, ports, security, Sent folder and sign-in,
filled in before the email channel is validated, so the admin writes only the address."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from responder.config.types import fail

Provider = Literal["gmail", "google-workspace", "microsoft365", "cpanel", "generic"]


@dataclass(frozen=True)
class Preset:
    imap: tuple[str | None, int, str]  # host (None: the channel's `host`), port, security
    smtp: tuple[str | None, int, str]
    # The Sent folder's name in an English account. Presets set `sent_folder: auto`, since
    # Gmail and Outlook name it in the account's language ("[Gmail]/Terkirim"); auto uses
    # this name first when the server marks no folder \Sent (RFC 6154).
    sent_name: str
    auth: Literal["password", "oauth2"]
    oauth_provider: str | None = None


# Gmail and Google Workspace: support.google.com/mail/answer/7126229 (imap.gmail.com:993 SSL,
# smtp.gmail.com:465 SSL).
_GOOGLE = ("imap.gmail.com", 993, "tls"), ("smtp.gmail.com", 465, "tls"), "[Gmail]/Sent Mail"
PRESETS: dict[str, Preset] = {
    "gmail": Preset(*_GOOGLE, auth="password"),
    "google-workspace": Preset(*_GOOGLE, auth="oauth2", oauth_provider="google"),
    # learn.microsoft.com, "POP, IMAP, and SMTP settings for Outlook.com / Microsoft 365":
    # outlook.office365.com:993 SSL/TLS, smtp.office365.com:587 STARTTLS.
    "microsoft365": Preset(
        ("outlook.office365.com", 993, "tls"),
        ("smtp.office365.com", 587, "starttls"),
        "Sent Items",
        auth="oauth2",
        oauth_provider="microsoft",
    ),
    # cPanel's "Connect Devices" page: the mail server is mail.<domain>, IMAP 993 and SMTP 465
    # over SSL/TLS; its Dovecot keeps folders under the "INBOX." namespace.
    "cpanel": Preset((None, 993, "tls"), (None, 465, "tls"), "INBOX.Sent", auth="password"),
}

# Channel keys that are shorthands for both imap and smtp.
_SHARED = ("password_file", "password_env")


def apply_preset(data: Any) -> Any:
    """The channel mapping with its preset's defaults under imap and smtp; what the admin
    wrote there wins. Unknown providers and malformed input are left for validation."""
    if not isinstance(data, dict):
        return data
    provider = data.get("provider", "generic")
    preset = PRESETS.get(provider) if isinstance(provider, str) else None
    shared = {k: data[k] for k in _SHARED if k in data}
    if preset is None:
        if provider == "generic" and shared:
            data = _share(data, shared, data.get("imap"), data.get("smtp"))
        return data
    host = data.get("host")
    if preset.imap[0] is None and not host:
        message = (
            f'provider {provider} needs "host": your mail server\'s name, '
            "like mail.toko-contoh.id (cPanel > Email Accounts > Connect Devices)"
        )
        raise fail("preset", message, show_input=False)
    address = data.get("address")
    if shared and "oauth2" in data:
        message = "give password_file (or password_env) or an oauth2 block, not both"
        raise fail("preset", message, ("oauth2",), show_input=False)
    # A Workspace admin may allow app passwords; an oauth2 block means OAuth2, Gmail's too.
    auth = "password" if shared else "oauth2" if "oauth2" in data else preset.auth
    if auth == "password" and not shared and not _own_passwords(data):
        message = (
            f"provider {provider} signs in with a password: add password_file (a file "
            "holding it) or password_env"
        )
        raise fail("preset", message, show_input=False)
    imap = _section(preset.imap, host, address, auth, data.get("imap"))
    imap.setdefault("sent_folder", "auto")
    smtp = _section(preset.smtp, host, address, auth, data.get("smtp"))
    if isinstance(address, str):
        # Submission servers that sign users in refuse the null reverse-path RFC 3834 asks
        # for (Microsoft 365 answers 5.7.60, "send as" denied), so the mailbox is the sender.
        smtp.setdefault("envelope_from", address)
    oauth = data.get("oauth2")
    signs_in = preset.oauth_provider or ("google" if provider == "gmail" else None)
    if auth == "oauth2" and isinstance(oauth, dict) and signs_in:
        oauth = {"provider": signs_in, **oauth}
    data = {**data, "imap": imap, "smtp": smtp}
    if oauth is not None:
        data["oauth2"] = oauth
    return _share(data, shared, imap, smtp) if auth == "password" else data


def sent_name(provider: str) -> str | None:
    """The provider's Sent folder in an English account, if it has a preset."""
    preset = PRESETS.get(provider)
    return preset.sent_name if preset else None


def _section(
    server: tuple[str | None, int, str],
    host: object,
    address: object,
    auth: str,
    given: object,
) -> dict[str, Any]:
    base: dict[str, Any] = {
        "host": server[0] or host,
        "port": server[1],
        "security": server[2],
        "auth": auth,
    }
    if isinstance(address, str):
        base["username"] = address
    return {**base, **given} if isinstance(given, dict) else base


def _own_passwords(data: dict[str, Any]) -> bool:
    """Whether imap or smtp, as written, names its own password."""
    return any(
        isinstance(data.get(name), dict) and any(k in data[name] for k in _SHARED)
        for name in ("imap", "smtp")
    )


def _share(data: dict[str, Any], shared: dict[str, Any], imap: object, smtp: object) -> Any:
    """Channel-level password_file/_env go to imap and smtp unless those name their own."""
    out = dict(data)
    for name, section in (("imap", imap), ("smtp", smtp)):
        if isinstance(section, dict) and not any(k in section for k in _SHARED):
            out[name] = {**section, **shared}
    return out
