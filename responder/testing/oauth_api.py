"""What the OAuth2 stand-in answers, as Google's and Microsoft's sign-in services do: discovery,
device authorization (RFC 8628), authorization code with PKCE (RFC 6749 4.1, RFC 7636),
refresh (RFC 6749 6), introspection (RFC 7662); and the controls tests turn."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
JSON = dict[str, Any]


@dataclass
class IssuedGrant:
    user: str
    client_id: str
    scope: str
    revoked: bool = False


@dataclass
class IssuedToken:
    grant: IssuedGrant
    expires_at: float
    revoked: bool = False

    @property
    def active(self) -> bool:
        return not (self.revoked or self.grant.revoked) and time.time() < self.expires_at


class Refused(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(error)
        self.error, self.description, self.status = error, description, status


class AuthorizationServer:
    """The state and answers of the stand-in, without its HTTP server (OAuthStandIn)."""

    @property
    def base_url(self) -> str:
        raise NotImplementedError  # where the HTTP server listens

    @property
    def introspection_url(self) -> str:
        raise NotImplementedError

    def __init__(
        self,
        *,
        user: str,
        client_id: str,
        client_secret: str | None,
        access_lifetime: float,
        rotate_refresh_tokens: bool,
        interval: int,
    ) -> None:
        self.user = user  # who approves every sign-in
        self.client_id = client_id
        self.client_secret = client_secret
        self.access_lifetime = access_lifetime
        self.rotate_refresh_tokens = rotate_refresh_tokens  # Microsoft rotates; Google not
        self.interval = interval  # device flow polling, seconds
        self.refreshes = 0
        self.introspected: list[bool] = []  # each introspection's answer: active or not
        self._lock = threading.Lock()
        self._grants: dict[str, IssuedGrant] = {}  # refresh token -> grant
        self._access: dict[str, IssuedToken] = {}
        self._codes: dict[str, tuple[IssuedGrant, str, str]] = {}  # -> redirect, challenge
        self._devices: dict[str, tuple[str, str, float]] = {}  # -> user code, scope, until
        self._approved: set[str] = set()  # user codes approved in the "browser"

    @property
    def refused(self) -> int:
        """Access tokens introspection answered inactive (the mail server refused them)."""
        return self.introspected.count(False)

    # -- test controls ------------------------------------------------------------------

    def sign_in(self, scope: str = "") -> JSON:
        """A new grant for `user`, as a finished `responder login` holds it: the token
        response (access_token, refresh_token, expires_in, ...)."""
        with self._lock:
            return self._issue(IssuedGrant(self.user, self.client_id, scope), {}, new_refresh=True)

    def grant_active(self, refresh_token: str) -> bool:
        """Whether `refresh_token` was issued here and still works."""
        with self._lock:
            grant = self._grants.get(refresh_token)
            return grant is not None and not grant.revoked

    def revoke_grant(self) -> None:
        """The user removed the app's access: refresh tokens and access tokens stop working."""
        with self._lock:
            for grant in self._grants.values():
                grant.revoked = True

    def revoke_access_tokens(self) -> None:
        """Every access token issued so far stops working; the grants stay good."""
        with self._lock:
            for access in self._access.values():
                access.revoked = True

    def introspect(self, token: str) -> JSON:
        """RFC 7662 section 2.2's answer for `token`."""
        with self._lock:
            access = self._access.get(token)
            active = access is not None and access.active
            self.introspected.append(active)
            if access is None or not active:
                return {"active": False}
            return {
                "active": True,
                "scope": access.grant.scope,
                "client_id": access.grant.client_id,
                "username": access.grant.user,
                "token_type": "Bearer",
                "exp": int(access.expires_at),
                "sub": access.grant.user,
            }

    def approve(self, user_code: str) -> None:
        """The user entered `user_code` at the verification page and allowed access."""
        with self._lock:
            self._approved.add(user_code.upper())

    # -- the endpoints' answers -------------------------------------------------------------

    def _discovery(self, path: str) -> JSON:
        # msal asks <authority>/v2.0/.well-known/openid-configuration (OpenID Discovery 1.0).
        prefix = path.removesuffix("/.well-known/openid-configuration").removesuffix("/v2.0")
        base = f"{self.base_url}{prefix}/oauth2/v2.0"
        return {
            "issuer": f"{self.base_url}{prefix}/v2.0",
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "device_authorization_endpoint": f"{base}/devicecode",
            "introspection_endpoint": self.introspection_url,
            "response_types_supported": ["code"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
        }

    def _device(self, form: JSON) -> JSON:
        self._client(form, {}, secret_required=False)
        device_code, user_code = secrets.token_urlsafe(24), secrets.token_hex(4).upper()
        with self._lock:
            self._devices[device_code] = (user_code, str(form.get("scope", "")), time.time() + 900)
        uri = f"{self.base_url}/device"
        return {
            "device_code": device_code,
            "user_code": user_code,
            "verification_uri": uri,
            "verification_uri_complete": f"{uri}?user_code={user_code}",
            "expires_in": 900,
            "interval": self.interval,
            # Microsoft's device response also carries the sentence to show the user.
            "message": f"To sign in, use a web browser to open the page {uri} and enter the "
            f"code {user_code} to authenticate.",
        }

    def _authorize(self, query: JSON) -> str:
        redirect = str(query.get("redirect_uri", ""))
        if query.get("client_id") != self.client_id:
            raise Refused("invalid_client", "unknown client_id")
        if urlsplit(redirect).hostname not in ("127.0.0.1", "localhost"):
            raise Refused("invalid_request", "redirect_uri must be a loopback address")
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            raise Refused("invalid_request", "PKCE with S256 is required")
        code = secrets.token_urlsafe(24)
        scope = str(query.get("scope", ""))
        with self._lock:
            grant = IssuedGrant(self.user, self.client_id, scope)
            self._codes[code] = (grant, redirect, str(query["code_challenge"]))
        answer = {"state": query.get("state", ""), "code": code, "scope": scope}
        return f"{redirect}{'&' if '?' in redirect else '?'}{urlencode(answer)}"

    def _token(self, form: JSON, headers: Any) -> JSON:
        grant_type = form.get("grant_type")
        self._client(form, headers, secret_required=self.client_secret is not None)
        with self._lock:
            if grant_type == "authorization_code":
                grant, redirect, challenge = self._codes.pop(str(form.get("code")), (None, "", ""))
                verifier = str(form.get("code_verifier", "")).encode()
                digest = hashlib.sha256(verifier).digest()
                expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
                if grant is None or redirect != form.get("redirect_uri") or expected != challenge:
                    raise Refused("invalid_grant", "bad code, redirect_uri or code_verifier")
                return self._issue(grant, form, new_refresh=True)
            if grant_type == DEVICE_GRANT:
                user_code, scope, expires = self._devices.get(
                    str(form.get("device_code")), ("", "", 0)
                )
                if time.time() > expires:
                    raise Refused("expired_token", "the device code has expired")
                if user_code not in self._approved:
                    raise Refused("authorization_pending", "the user has not approved yet")
                del self._devices[str(form["device_code"])]
                grant = IssuedGrant(self.user, self.client_id, scope)
                return self._issue(grant, form, new_refresh=True)
            if grant_type == "refresh_token":
                grant = self._grants.get(str(form.get("refresh_token")))
                if grant is None or grant.revoked:
                    raise Refused("invalid_grant", "Token has been expired or revoked.")
                self.refreshes += 1
                return self._issue(grant, form, new_refresh=self.rotate_refresh_tokens)
        raise Refused("unsupported_grant_type", f"grant_type {grant_type!r}")

    def _client(self, form: JSON, headers: Any, secret_required: bool) -> None:
        client_id, secret = form.get("client_id"), form.get("client_secret")
        basic = headers.get("Authorization", "") if headers else ""
        if basic.lower().startswith("basic "):  # client_secret_basic (RFC 6749 2.3.1)
            client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
        if client_id != self.client_id or (secret_required and secret != self.client_secret):
            raise Refused("invalid_client", "unknown client or wrong secret", 401)

    def _issue(self, grant: IssuedGrant, form: JSON, new_refresh: bool) -> JSON:
        """A token response (RFC 6749 5.1) with what Google and Microsoft always send."""
        token = secrets.token_urlsafe(32)
        self._access[token] = IssuedToken(grant, time.time() + self.access_lifetime)
        answer: JSON = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": int(self.access_lifetime),
            "scope": grant.scope,
        }
        if new_refresh:
            old = str(form.get("refresh_token", ""))
            self._grants.pop(old, None)  # a rotated refresh token replaces the old one
            refresh = secrets.token_urlsafe(32)
            self._grants[refresh] = grant
            answer["refresh_token"] = refresh
        if "openid" in grant.scope.split():
            answer["id_token"] = _id_token(grant, self.base_url)
        if form.get("client_info") == "1":  # msal asks for it: the account's home ids
            info = json.dumps({"uid": "uid-1", "utid": "tenant-1"}).encode()
            answer["client_info"] = base64.urlsafe_b64encode(info).rstrip(b"=").decode()
        return answer


def _id_token(grant: IssuedGrant, issuer: str) -> str:
    """An OpenID Connect ID token (unsigned: clients take it straight from the token endpoint
    over TLS, OIDC Core 3.1.3.7, and msal does not check the signature)."""
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": grant.client_id,
        "sub": "sub-1",
        "oid": "uid-1",
        "tid": "tenant-1",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "email": grant.user,
        "preferred_username": grant.user,
        "name": grant.user.split("@")[0],
    }
    parts = [{"alg": "RS256", "typ": "JWT"}, claims]
    encoded = [base64.urlsafe_b64encode(json.dumps(p).encode()).rstrip(b"=") for p in parts]
    return b".".join([*encoded, b"c2lnbmF0dXJl"]).decode()
