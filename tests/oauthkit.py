"""Helpers for the OAuth2 tests: the stand-in, Dovecot's oauth2 passdb and an XOAUTH2 SMTP
server, a config of one OAuth2 mailbox, and a saved sign-in."""

from __future__ import annotations

import concurrent.futures.thread  # noqa: F401 (see as_user)
import os
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import harness
from aiohttp import web
from harness import SUPPORT, running, wait_connected

from responder.app.daemon import App
from responder.channels.oauth.grant import Grant, write_grant
from responder.channels.oauth.tokens import TokenSource
from responder.config.oauth import OAuth2Config, token_file
from responder.testing import Dovecot, RecordingSMTPServer
from responder.testing._http import HOST, ThreadedHTTPServer
from responder.testing.oauth import OAuthStandIn

CLIENT_ID = "responder-test-app"
CHANNEL = "support-mail"
# Dovecot's helpers (append, fetch) still sign in with a password; the daemon never does.
HELPER_PASSWORD = "helper-only"


@dataclass
class Servers:
    auth: OAuthStandIn
    imap: Dovecot
    smtp: RecordingSMTPServer


@contextmanager
def oauth_servers(
    tmp_path: Path, *, smtp_xoauth2: bool = True, **stand_in: Any
) -> Iterator[Servers]:
    """The sign-in stand-in, Dovecot checking bearer tokens with it, and an SMTP server that
    takes XOAUTH2 only (and requires it); without `smtp_xoauth2`, one that takes a password
    only (HELPER_PASSWORD), as many hosting providers' servers do."""
    with ExitStack() as stack:
        auth = stack.enter_context(OAuthStandIn(user=SUPPORT, client_id=CLIENT_ID, **stand_in))
        url = auth.introspection_url
        imap = Dovecot(tmp_path / "dovecot", {SUPPORT: HELPER_PASSWORD}, oauth2_introspection=url)
        stack.enter_context(imap)
        if smtp_xoauth2:
            smtp = RecordingSMTPServer(xoauth2_introspection=url)
        else:
            smtp = RecordingSMTPServer(login=(SUPPORT, HELPER_PASSWORD))
        stack.enter_context(smtp)
        yield Servers(auth, imap, smtp)


def write_config(
    tmp_path: Path,
    servers: Servers,
    *,
    provider: str = "generic",
    smtp_password: bool = False,
    delivery: str = harness.FAST_RETRIES,
) -> Path:
    """One email channel signing in with OAuth2: `microsoft365` (the preset; the stand-in
    plays login.microsoftonline.com, over TLS) or `generic` (token and authorization URLs);
    with `smtp_password`, SMTP signs in with HELPER_PASSWORD from a file instead."""
    base = servers.auth.base_url
    if provider == "microsoft365":
        oauth = f"oauth2: {{client_id: {CLIENT_ID}, login_url: '{base}'}}"
        # The preset signs in with OAuth2 and watches the Sent folder (auto), which this
        # Dovecot's mailbox does not have.
        imap, smtp = ", sent_folder: null", ""
    else:
        oauth = (
            f"oauth2: {{provider: generic, client_id: {CLIENT_ID}, token_url: '{base}/token', "
            f"authorization_url: '{base}/authorize'}}"
        )
        imap = smtp = ", auth: oauth2"
    if smtp_password:
        secret = tmp_path / "smtp-password"
        secret.write_text(f"{HELPER_PASSWORD}\n")
        smtp = f", auth: password, password_file: {secret}"
    return harness.write_config(
        tmp_path,
        servers.imap,
        servers.smtp,
        channel_extra=f"    provider: {provider}\n    {oauth}",
        imap_extra=imap,
        smtp_extra=f", username: {SUPPORT}{smtp}",
        imap_password=False,
        delivery=delivery,
    )


@asynccontextmanager
async def running_signed_in(config: Path, servers: Servers) -> AsyncIterator[App]:
    """The daemon on `config` (write_config) after `responder login`, connected."""
    save_sign_in(config.parent / "state", servers.auth)
    async with running(config) as app:
        await wait_connected(app)
        yield app


def save_sign_in(
    state: Path, auth: OAuthStandIn, provider: str = "generic", *, expired: bool = False
) -> Grant:
    """What `responder login` leaves behind: a grant the stand-in issued, in the token file
    (its access token already expired, if asked)."""
    answer = auth.sign_in()
    grant = Grant(provider, CLIENT_ID, answer["refresh_token"], SUPPORT, answer["scope"])
    lifetime = -1.0 if expired else float(answer["expires_in"])
    grant = grant.with_access(answer["access_token"], lifetime, time.time())
    write_grant(token_file(state, CHANNEL), grant)
    return grant


def write_login_config(tmp_path: Path, auth: OAuthStandIn, provider: str) -> Path:
    """A config `responder login` can use: microsoft365 (the stand-in as the authority),
    google-workspace (its authorization and token URLs, a client secret file), or a generic
    service with a device authorization endpoint."""
    base = auth.base_url
    if provider == "microsoft365":
        channel = f"oauth2: {{client_id: {CLIENT_ID}, login_url: '{base}'}}"
    elif provider == "google-workspace":
        secret = tmp_path / "client-secret"
        secret.write_text(f"{auth.client_secret}\n")
        channel = (
            f"oauth2: {{client_id: {CLIENT_ID}, client_secret_file: {secret},\n"
            f"      authorization_url: '{base}/authorize', token_url: '{base}/token'}}"
        )
    else:
        channel = (
            f"oauth2: {{provider: generic, client_id: {CLIENT_ID}, token_url: '{base}/token',\n"
            f"      device_authorization_url: '{base}/device_authorization',\n"
            "      scopes: [mail]}\n"
            f"    imap: {{host: mail.example.com, port: 993, username: {SUPPORT}, auth: oauth2}}\n"
            f"    smtp: {{host: mail.example.com, port: 465, security: tls, username: {SUPPORT},\n"
            "           auth: oauth2}"
        )
        provider = "generic"
    return write_mailbox_config(tmp_path, provider, channel)


def write_mailbox_config(tmp_path: Path, provider: str, channel: str) -> Path:
    """A config of one mailbox of `provider` for `responder login`; `channel`: its other
    settings, from line 8 on (indented by 4 after the first line)."""
    path = tmp_path / "config.yaml"
    path.write_text(
        f"""\
timezone: Asia/Jakarta
state_dir: {tmp_path / "state"}
channels:
  - name: {CHANNEL}
    type: email
    provider: {provider}
    address: {SUPPORT}
    {channel}
"""
    )
    return path


def tokens_for(state: Path, auth: OAuthStandIn) -> TokenSource:
    """The token source the daemon builds for a generic channel signed in at `auth`."""
    config = OAuth2Config(
        provider="generic",
        client_id=CLIENT_ID,
        token_url=f"{auth.base_url}/token",
        authorization_url=f"{auth.base_url}/authorize",
    )
    return TokenSource(CHANNEL, config, token_file(state, CHANNEL))


NOBODY = 65534


@contextmanager
def reachable_state(uid: int) -> Iterator[Path]:
    """A state folder owned by `uid` (the service's user), mode 0700 as systemd makes it, in
    a folder every user may pass through (pytest's own tmp_path is root's alone)."""
    base = Path(tempfile.mkdtemp(prefix="responder-state-"))
    try:
        base.chmod(0o755)
        state = base / "state"
        state.mkdir(mode=0o700)
        os.chown(state, uid, uid)
        yield state
    finally:
        shutil.rmtree(base, ignore_errors=True)


@contextmanager
def as_user(uid: int) -> Iterator[None]:
    """This process's file access as `uid` (the effective uid, for every thread), then root's
    again: the tests run as root, whom no file mode stops. Meanwhile only modules imported
    already can be used (the interpreter lives in /root, which `uid` cannot read):
    concurrent.futures.thread, which asyncio.to_thread loads on first use, is one."""
    os.seteuid(uid)
    try:
        yield
    finally:
        os.seteuid(0)


class PlainAnswer(ThreadedHTTPServer):
    """An HTTP server that answers every request with `status` and a page that is no JSON, as a
    web server or proxy does at a wrong token_url."""

    def __init__(self, status: int) -> None:
        self.status = status

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/token"

    def _app(self) -> web.Application:
        async def page(request: web.Request) -> web.Response:
            body = f"<html><body><h1>{self.status}</h1></body></html>"
            return web.Response(status=self.status, text=body, content_type="text/html")

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", page)
        return app
