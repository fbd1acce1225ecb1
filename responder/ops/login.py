"""`responder login -c FILE CHANNEL`: obtain a mailbox's OAuth2 grant once and save it."""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path
from typing import Any, TextIO

from responder.channels.health import SLOW_RETRY, pace
from responder.channels.oauth.grant import Grant, write_grant
from responder.config import Config, EmailChannelConfig, load_config
from responder.config.oauth import OAuth2Config, token_file
from responder.errors import ConfigError, LoginFailed

_NAMES = {"google": "Google", "microsoft": "Microsoft 365", "generic": "the sign-in service"}


def login(config_path: Path, channel_name: str, stdin: TextIO, out: TextIO) -> None:
    """Run the provider's sign-in flow in the terminal and save the grant for the daemon.
    Raises ConfigError for a config that cannot sign in, LoginFailed when the sign-in fails."""
    # The daemon reads its own secrets (systemd credentials); login needs only the client's.
    config = load_config(config_path, secrets="warn")
    index, channel = _channel(config, channel_name)
    oauth = channel.oauth2
    assert oauth is not None  # _channel checked it
    unread = [w for w in config.warnings if w.path.startswith(f"channels[{index}].oauth2.")]
    if unread:  # the client secret is named but cannot be read
        raise ConfigError(unread)
    account = channel.imap.username
    print(f"Signing in {channel.name} ({account}) with {_NAMES[oauth.provider]}.", file=out)
    answer = _flow(oauth, account, stdin, out)
    refresh = answer.get("refresh_token")
    if not isinstance(refresh, str) or not refresh:
        raise LoginFailed(
            f"{_NAMES[oauth.provider]} gave no refresh token, so the daemon could not stay "
            "signed in; remove the app's access from the account (Google: "
            "myaccount.google.com/permissions) and run login again"
        )
    who = signed_in_as(answer) or account
    now = time.time()
    grant = Grant(oauth.provider, oauth.client_id, refresh, who, str(answer.get("scope", "")))
    token = answer.get("access_token")
    if isinstance(token, str) and token:
        grant = grant.with_access(token, float(answer.get("expires_in") or 3600), now)
    path = token_file(config.state_dir, channel.name)
    try:
        write_grant(path, grant, _daemon_owner(config.state_dir))
    except OSError as exc:
        raise LoginFailed(
            f"signed in, but cannot save the sign-in in {path}: "
            f"{(exc.strerror or str(exc)).lower()}; run login with sudo, or as the user that "
            f"owns {config.state_dir}"
        ) from None
    print(f"Signed in as {who}.", file=out)
    if who.lower() != account.lower():
        print(
            f"Note: the channel reads the mailbox {account}; the server accepts this sign-in "
            f"only if {who} may open that mailbox (delegated access).",
            file=out,
        )
    print(f"The sign-in is saved in {path} (only its owner can read it).", file=out)
    print(
        "A running responder uses it at its next sign-in (a failed channel tries again "
        f"every {pace(SLOW_RETRY)}); no restart is needed.",
        file=out,
    )
    print(f"Next: responder check --connect -c {config_path}", file=out)


def _channel(config: Config, name: str) -> tuple[int, EmailChannelConfig]:
    emails = [(n, c) for n, c in enumerate(config.channels) if isinstance(c, EmailChannelConfig)]
    for index, channel in emails:
        if channel.name == name:
            if channel.oauth2 is None or not channel.uses_oauth:
                message = (
                    "this channel signs in with a password; `responder login` is for OAuth2: "
                    "set provider google-workspace or microsoft365, or imap.auth and "
                    "smtp.auth: oauth2 with an oauth2 block"
                )
                raise ConfigError([config.source.problem(("channels", index), message)])
            return index, channel
    known = ", ".join(c.name for _, c in emails) or "none"
    message = f"no email channel named {name!r} (email channels: {known})"
    raise ConfigError([config.source.problem(("channels",), message)])


def _flow(oauth: OAuth2Config, account: str, stdin: TextIO, out: TextIO) -> dict[str, Any]:
    # Each flow's libraries load here, for the one provider in use.
    if oauth.provider == "microsoft":
        from responder.ops.login_device import microsoft_device_flow

        return microsoft_device_flow(oauth, account, out)
    if oauth.provider == "generic" and oauth.device_authorization_url is not None:
        from responder.ops.login_device import device_flow

        return device_flow(oauth, account, out)
    from responder.ops.login_browser import browser_flow

    return browser_flow(oauth, account, stdin, out)


def signed_in_as(answer: dict[str, Any]) -> str:
    """The account named by the ID token of a token response (OpenID Connect Core 2), taken
    straight from the token endpoint over TLS, so its signature need not be checked (3.1.3.7)."""
    claims = answer.get("id_token_claims")
    if not isinstance(claims, dict):
        claims = {}
        token = answer.get("id_token")
        if isinstance(token, str) and token.count(".") == 2:
            payload = token.split(".")[1]
            try:
                claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
            except ValueError:
                claims = {}
    for key in ("email", "preferred_username", "upn"):
        value = claims.get(key) if isinstance(claims, dict) else None
        if isinstance(value, str) and "@" in value:
            return value
    return ""


def _daemon_owner(state_dir: Path) -> tuple[int, int] | None:
    """Run as root, hand the file to whoever owns the state folder (the service's user, which
    systemd's DynamicUser sets there): else the daemon could not read its own sign-in."""
    if os.geteuid() != 0:
        return None
    try:
        st = state_dir.stat()
    except OSError:
        return None
    return (st.st_uid, st.st_gid) if st.st_uid != 0 else None
