"""Device sign-in (RFC 8628): a code to enter on any computer or phone, for a headless VPS.

Microsoft's goes through msal, which knows its authority's quirks; any other service that
offers a device authorization endpoint goes through the RFC itself.
"""

from __future__ import annotations

import time
from typing import Any, TextIO

from responder.channels.oauth.endpoint import TokenRefused, Unreachable, host_of, post_form
from responder.config.oauth import OAuth2Config
from responder.errors import LoginFailed

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
# msal adds these itself and refuses them in a scope list.
_MSAL_RESERVED = frozenset({"openid", "profile", "offline_access"})


def microsoft_device_flow(oauth: OAuth2Config, account: str, out: TextIO) -> dict[str, Any]:
    import msal  # ~18 MB with requests: loaded for `login` only, never by the daemon
    import requests

    scopes = [s for s in oauth.mail_scopes if s not in _MSAL_RESERVED]
    try:
        app = msal.PublicClientApplication(
            oauth.client_id,
            authority=oauth.authority,
            # A login_url of our own (a test stand-in) is not one Microsoft can vouch for.
            instance_discovery=False if oauth.login_url else None,
        )
        flow = app.initiate_device_flow(scopes=scopes)
    except (ValueError, requests.RequestException) as exc:
        raise LoginFailed(f"cannot start the sign-in at {oauth.authority}: {exc}") from None
    if "user_code" not in flow:
        raise LoginFailed(f"Microsoft refused to start the sign-in: {_described(flow)}")
    print(f"On any computer or phone: {flow['message']}", file=out)
    _sign_in_as(account, out)
    print(f"Waiting for you (the code works for {_minutes(flow)})...", file=out, flush=True)
    try:
        result: dict[str, Any] = app.acquire_token_by_device_flow(flow)
    except requests.RequestException as exc:
        raise LoginFailed(f"lost the connection to {oauth.authority}: {exc}") from None
    if "access_token" not in result:
        raise LoginFailed(f"the sign-in did not complete: {_described(result)}")
    return result


def device_flow(oauth: OAuth2Config, account: str, out: TextIO) -> dict[str, Any]:
    """RFC 8628 sections 3.1-3.5, for a generic provider."""
    _, token_url, device_url = oauth.endpoints
    assert device_url is not None
    form = {"client_id": oauth.client_id, "scope": " ".join(oauth.mail_scopes)}
    if oauth.client_secret is not None:
        form["client_secret"] = oauth.client_secret.get_secret_value()
    try:
        start = post_form(device_url, form)
    except (TokenRefused, Unreachable) as exc:
        raise LoginFailed(f"cannot start the sign-in at {host_of(device_url)}: {exc}") from None
    uri = start.get("verification_uri_complete") or start.get("verification_uri")
    print(f"On any computer or phone, open {uri}", file=out)
    print(f"and enter the code {start.get('user_code')} if asked.", file=out)
    _sign_in_as(account, out)
    print(f"Waiting for you (the code works for {_minutes(start)})...", file=out, flush=True)
    interval = float(start.get("interval") or 5)
    deadline = time.monotonic() + float(start.get("expires_in") or 900)
    poll = {**form, "grant_type": DEVICE_GRANT, "device_code": str(start.get("device_code"))}
    while time.monotonic() < deadline:
        time.sleep(interval)
        try:
            return post_form(token_url, poll)
        except Unreachable:
            continue  # keep trying until the code expires
        except TokenRefused as exc:
            if exc.error == "authorization_pending":
                continue
            if exc.error == "slow_down":
                interval += 5  # RFC 8628 section 3.5
                continue
            if exc.error == "access_denied":
                raise LoginFailed("the sign-in was declined in the browser") from None
            raise LoginFailed(f"the sign-in did not complete: {exc}") from None
    raise LoginFailed("the code expired before the sign-in was finished; run login again")


def _sign_in_as(account: str, out: TextIO) -> None:
    print(
        f"Sign in as {account} (or an account allowed to open that mailbox) and accept.",
        file=out,
    )


def _minutes(flow: dict[str, Any]) -> str:
    return f"{int(float(flow.get('expires_in') or 900)) // 60} minutes"


def _described(answer: dict[str, Any]) -> str:
    error = answer.get("error", "no answer")
    text = str(answer.get("error_description") or "").strip().splitlines()
    return f"{error}: {text[0]}" if text else str(error)
