"""An OAuth2 authorization server stand-in over real HTTP(S) (aiohttp, own thread): device and
authorization-code (PKCE) sign-in, refresh, and token introspection (RFC 7662) for Dovecot."""

from __future__ import annotations

import shutil
import ssl
import tempfile
from pathlib import Path

from aiohttp import web

from responder.testing._http import HOST, ThreadedHTTPServer
from responder.testing._net import free_port
from responder.testing.oauth_api import AuthorizationServer, Refused


class OAuthStandIn(AuthorizationServer, ThreadedHTTPServer):
    """Signs `user` in for `client_id` at once (no consent page), as Google or Microsoft would
    after the admin approves. Microsoft's paths (`/<tenant>/oauth2/v2.0/token`, discovery) and
    generic ones (`/token`, `/authorize`, `/device_authorization`) both work. `tls=True`
    serves HTTPS (msal insists) with `ca_file` to trust; introspection stays on plain HTTP
    at `introspection_url` for Dovecot and the SMTP stand-in. Controls: `access_lifetime`,
    `revoke_grant`, `revoke_access_tokens`; counts: `refreshes`, `introspected`, `refused`."""

    def __init__(
        self,
        *,
        user: str,
        client_id: str = "responder-test-app",
        client_secret: str | None = None,
        access_lifetime: float = 3600.0,
        rotate_refresh_tokens: bool = False,
        tls: bool = False,
        interval: int = 1,
    ) -> None:
        super().__init__(
            user=user,
            client_id=client_id,
            client_secret=client_secret,
            access_lifetime=access_lifetime,
            rotate_refresh_tokens=rotate_refresh_tokens,
            interval=interval,
        )
        self.tls = tls
        self.ca_file: Path | None = None
        self._http_port: int | None = None
        self._tmp: Path | None = None
        self._context: ssl.SSLContext | None = None

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{HOST}:{self.port}"

    @property
    def introspection_url(self) -> str:
        return f"http://{HOST}:{self._http_port or self.port}/introspect"

    # -- lifecycle ----------------------------------------------------------------------

    def _prepare(self) -> None:
        # A fresh port at each start; over TLS also a throwaway CA, and introspection on HTTP.
        self._port = free_port(HOST)
        if self.tls:
            from responder.testing.oauth_tls import throwaway_tls

            self._tmp = Path(tempfile.mkdtemp(prefix="oauth-standin-"))
            self._context, self.ca_file = throwaway_tls(self._tmp, HOST)
            self._http_port = free_port(HOST)

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def _listen(self, runner: web.AppRunner) -> None:
        await web.TCPSite(runner, HOST, self.port, ssl_context=self._context).start()
        if self._http_port is not None:
            await web.TCPSite(runner, HOST, self._http_port).start()

    def stop(self) -> None:
        super().stop()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    # -- the endpoints --------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        form = dict(await request.post()) if request.method == "POST" else dict(request.query)
        try:
            if path.endswith("/.well-known/openid-configuration"):
                return web.json_response(self._discovery(path))
            if path.endswith(("/devicecode", "/device_authorization")):
                return web.json_response(self._device(form))
            if path == "/device":
                self.approve(str(form.get("user_code", "")))
                return web.Response(text="Approved. You can close this window.")
            if path.endswith("/authorize"):
                raise web.HTTPFound(self._authorize(form))
            if path.endswith("/token"):
                return web.json_response(self._token(form, request.headers))
            if path == "/introspect":
                token = str(form.get("token", ""))
                bearer = request.headers.get("Authorization", "")
                if not token and bearer.lower().startswith("bearer "):
                    token = bearer[7:].strip()
                return web.json_response(self.introspect(token))
        except Refused as exc:
            body = {"error": exc.error, "error_description": exc.description}
            return web.json_response(body, status=exc.status)
        return web.json_response({"error": "not_found"}, status=404)
