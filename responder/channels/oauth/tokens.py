"""A channel's access tokens: from the saved grant, refreshed before they expire (RFC 6749 6)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from responder.channels.oauth.endpoint import TokenRefused, Unreachable, host_of, post_form
from responder.channels.oauth.grant import Grant, GrantUnreadable, Signature, read_grant, signature
from responder.channels.oauth.grant import write_grant as _write
from responder.common.retry import backoff
from responder.config.oauth import OAuth2Config
from responder.errors import ChannelDown, OAuthAppRefused, SignInExpired

log = logging.getLogger(__name__)

# Refresh this long before expiry: 5 minutes of an hour's token (Google's and Microsoft's
# lifetime), a tenth of a shorter one, so a token is never sent in its last moments.
MARGIN_CAP = 300.0
MARGIN_SHARE = 0.1
# A refresh that cannot reach the endpoint is tried again this often before the caller's
# own reconnect backoff takes over (the fault is passing: ChannelDown, never failed).
ATTEMPTS = 3
# Errors a sign-in service gives while the grant is still good (RFC 6749 5.2 has none;
# RFC 8628 3.5 and providers' own docs name these).
_PASSING = frozenset({"temporarily_unavailable", "server_error", "slow_down"})
# Errors about the app, not the grant (RFC 6749 5.2): its client_id or secret is wrong, it may
# not use refresh tokens, or the request it sends is malformed (Google's "client_secret is
# missing" is invalid_request). An answer with no OAuth2 error at all (HTTP 400 or 404 with an
# HTML page) comes from a wrong token_url. A new sign-in fixes none of these.
_APP = frozenset(
    {"invalid_client", "unauthorized_client", "unsupported_grant_type", "invalid_request"}
)
_REGISTRATION = {
    "google": "the Desktop app client in Google Cloud console > APIs & Services > Credentials",
    "microsoft": "the app in Microsoft Entra admin center > App registrations (Authentication: "
    "Allow public client flows: Yes)",
}


class TokenSource:
    """Hands out a valid access token to every connection of one channel (IMAP sessions and
    the SMTP pool share it); refreshes once for all of them (single flight), stores a rotated
    refresh token, and re-reads the file when `responder login` replaced it."""

    def __init__(
        self,
        channel: str,
        oauth: OAuth2Config,
        path: Path,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.channel = channel
        self.path = path
        self._oauth = oauth
        self._clock = clock
        self._lock = asyncio.Lock()
        self._grant: Grant | None = None
        self._seen: Signature | None = None
        self.refreshes = 0  # for tests and status: how often a new access token was fetched

    def __repr__(self) -> str:
        return f"TokenSource({self.channel!r}, {str(self.path)!r})"

    async def token(self) -> str:
        """An access token with more than the margin left; refreshed first if needed.
        Raises SignInExpired (sign in again; its subclasses: never signed in, the file not
        readable, the app refused) or ChannelDown (the service is out of reach)."""
        async with self._lock:
            grant = await self._current()
            if self._fresh(grant):
                return grant.access_token
            return (await self._refresh(grant)).access_token

    async def renew(self, refused: str) -> str:
        """The server refused `refused`: a new token, refreshed unless another connection (or
        a new `responder login`) already replaced it."""
        async with self._lock:
            grant = await self._current()
            if grant.access_token != refused and self._fresh(grant):
                return grant.access_token
            return (await self._refresh(grant)).access_token

    def _fresh(self, grant: Grant) -> bool:
        lifetime = max(grant.expires_at - grant.issued_at, 0.0)
        margin = min(MARGIN_CAP, lifetime * MARGIN_SHARE)
        return bool(grant.access_token) and self._clock() < grant.expires_at - margin

    async def _current(self) -> Grant:
        """The grant, re-read if the file changed since we last read or wrote it."""
        seen = await asyncio.to_thread(signature, self.path)
        if self._grant is None or seen != self._seen:
            try:
                grant, self._seen = await asyncio.to_thread(read_grant, self.path)
            except SignInExpired:  # none saved, or this user may not read it
                self._grant = None
                raise
            except GrantUnreadable as exc:
                self._grant = None
                raise SignInExpired(str(exc)) from None
            if self._grant is not None:
                log.info("channel %s: %s changed; using the new sign-in", self.channel, self.path)
            self._grant = grant
        if self._grant.client_id != self._oauth.client_id:
            raise SignInExpired(
                f"signed in with another app (client_id {self._grant.client_id}), "
                f"not oauth2.client_id {self._oauth.client_id}"
            )
        return self._grant

    async def _refresh(self, grant: Grant) -> Grant:
        url = self._oauth.endpoints[1]
        form = {
            "grant_type": "refresh_token",
            "refresh_token": grant.refresh_token,
            "client_id": self._oauth.client_id,
        }
        if self._oauth.client_secret is not None:
            form["client_secret"] = self._oauth.client_secret.get_secret_value()
        if self._oauth.provider == "microsoft":
            # Microsoft's v2.0 endpoint wants the scopes again on a refresh; RFC 6749 6 and
            # Google take the original grant's when none is given.
            form["scope"] = " ".join(self._oauth.mail_scopes)
        answer = await self._post(url, form)
        token = answer.get("access_token")
        if not isinstance(token, str) or not token:
            raise ChannelDown(f"the sign-in service {host_of(url)} gave no access token")
        expires_in = _seconds(answer.get("expires_in"))
        now = self._clock()
        fresh = grant.with_access(token, expires_in, now)
        rotated = answer.get("refresh_token")
        if isinstance(rotated, str) and rotated and rotated != grant.refresh_token:
            fresh = replace(fresh, refresh_token=rotated)
        self.refreshes += 1
        if await asyncio.to_thread(signature, self.path) != self._seen:
            # `responder login` saved a new grant while we refreshed the old one: the admin's
            # new sign-in wins.
            self._grant = None
            return await self._current_fresh()
        self._grant = fresh
        try:
            self._seen = await asyncio.to_thread(_write, self.path, fresh)
        except OSError as exc:
            # The token works without the file; the old refresh token stays on disk, which
            # Microsoft keeps valid after a rotation (it expires, it is not revoked).
            log.warning(
                "channel %s: cannot save the renewed sign-in to %s (%s); using it from memory",
                self.channel,
                self.path,
                (exc.strerror or str(exc)).lower(),
            )
        new_refresh = fresh.refresh_token != grant.refresh_token
        log.info(
            "channel %s: new OAuth2 access token, valid for %s%s",
            self.channel,
            f"{expires_in / 60:.0f} min" if expires_in >= 120 else f"{expires_in:.0f} s",
            " (with a new refresh token)" if new_refresh else "",
        )
        return fresh

    async def _current_fresh(self) -> Grant:
        grant = await self._current()
        return grant if self._fresh(grant) else await self._refresh(grant)

    async def _post(self, url: str, form: dict[str, str]) -> dict[str, object]:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await asyncio.to_thread(post_form, url, form)
            except TokenRefused as exc:
                if exc.error in _APP or exc.error.startswith("HTTP "):
                    raise self._app_refused(url, exc) from None
                if exc.error not in _PASSING:
                    raise SignInExpired(f"{host_of(url)} answered {exc}") from None
                trouble: Exception = exc
            except Unreachable as exc:
                trouble = exc
            if attempt < ATTEMPTS:
                await asyncio.sleep(backoff(attempt, base=1.0, cap=8.0))
        # Not chained to the OSError beneath: that would read as the mail server's own fault.
        raise ChannelDown(f"cannot reach the sign-in service to renew the token ({trouble})")

    def _app_refused(self, url: str, exc: TokenRefused) -> OAuthAppRefused:
        """The app's settings are wrong, not the grant: say where they are set."""
        oauth = self._oauth
        secret = "client_secret_env" if oauth.client_secret_env else "client_secret_file"
        keys = ["client_id", "tenant" if oauth.provider == "microsoft" else secret]
        if oauth.token_url is not None:
            keys.append("token_url")
        where = _REGISTRATION.get(oauth.provider, "the app registration at your sign-in service")
        return OAuthAppRefused(
            f"the sign-in service {host_of(url)} refused the app that signs in {self.channel} "
            f"(oauth2.client_id {oauth.client_id}): {exc}",
            f"check oauth2.{', '.join(keys[:-1])} and {keys[-1]} against {where}; signing in "
            "again does not help",
        )


def _seconds(value: object) -> float:
    """expires_in (RFC 6749 5.1: RECOMMENDED, a number; some services send a string)."""
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 3600.0
    return seconds if seconds > 0 else 3600.0
