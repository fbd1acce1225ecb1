"""A channel's access tokens: refreshed before expiry, once for every connection, rotated
refresh tokens kept, a new `responder login` picked up, a revoked grant and an unreachable
sign-in service told apart. Real HTTP to the OAuth2 stand-in; only our clock is ours."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import stat
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from oauthkit import (
    CHANNEL,
    CLIENT_ID,
    NOBODY,
    PlainAnswer,
    as_user,
    reachable_state,
    write_login_config,
)

from responder.channels.diagnose import Endpoint, diagnose
from responder.channels.oauth.grant import Grant, read_grant, write_grant
from responder.channels.oauth.tokens import TokenSource
from responder.config import EmailChannelConfig, load_config
from responder.config.oauth import OAuth2Config, token_file
from responder.errors import (
    ChannelDown,
    NotSignedIn,
    OAuthAppRefused,
    SignInExpired,
    SignInUnreadable,
)
from responder.ops.connect_base import SignIns, failed
from responder.testing import free_port
from responder.testing.oauth import OAuthStandIn

USER = "support@toko-contoh.id"
# Where the daemon reached the mailbox from, as the channel's health says it.
AT = Endpoint(CHANNEL, "imap", "imap.toko-contoh.id", 993, USER, "imap")
LOGIN = f"responder login -c /etc/responder/config.yaml {CHANNEL}"
DAEMON = 1  # the service's user in these tests; the tests run as root


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def auth() -> Iterator[OAuthStandIn]:
    with OAuthStandIn(user=USER, client_id=CLIENT_ID, access_lifetime=600) as server:
        yield server


def oauth_config(
    token_url: str, provider: str = "generic", secret: Path | None = None
) -> OAuth2Config:
    """The channel's oauth2 block; `secret`: the client_secret_file."""
    return OAuth2Config(
        provider=provider,  # type: ignore[arg-type]
        client_id=CLIENT_ID,
        token_url=token_url,
        authorization_url="http://127.0.0.1:9/authorize",
        client_secret_file=secret,
    )


def signed_in(tmp_path: Path, auth: OAuthStandIn, clock: Clock) -> tuple[Grant, Path]:
    answer = auth.sign_in()
    grant = Grant("generic", CLIENT_ID, answer["refresh_token"], USER, answer["scope"])
    grant = grant.with_access(answer["access_token"], answer["expires_in"], clock.now)
    path = token_file(tmp_path, CHANNEL)
    write_grant(path, grant)
    return grant, path


async def test_the_token_is_refreshed_before_it_expires_never_after(
    tmp_path: Path, auth: OAuthStandIn
) -> None:
    clock = Clock()
    grant, path = signed_in(tmp_path, auth, clock)
    tokens = TokenSource(CHANNEL, oauth_config(f"{auth.base_url}/token"), path, clock)
    clock.now += 400  # 200 s left of 600: plenty
    assert await tokens.token() == grant.access_token
    assert auth.refreshes == 0
    clock.now += 150  # 50 s left, inside the margin (a tenth of the lifetime)
    fresh = await tokens.token()
    assert fresh != grant.access_token and auth.refreshes == 1
    # Refreshed while the old token still worked: no server ever had to refuse it.
    assert auth.introspect(grant.access_token)["active"] is True
    assert auth.introspect(fresh)["active"] is True
    saved, _ = read_grant(path)
    assert saved.access_token == fresh and saved.expires_at == pytest.approx(clock.now + 600)
    assert saved.refresh_token == grant.refresh_token  # Google-like: no new refresh token


async def test_every_connection_waits_for_one_refresh(tmp_path: Path, auth: OAuthStandIn) -> None:
    clock = Clock()
    _, path = signed_in(tmp_path, auth, clock)
    tokens = TokenSource(CHANNEL, oauth_config(f"{auth.base_url}/token"), path, clock)
    clock.now += 3600
    got = await asyncio.gather(*(tokens.token() for _ in range(5)))
    assert len(set(got)) == 1 and auth.refreshes == 1


async def test_a_refused_token_is_replaced_once_even_if_many_report_it(
    tmp_path: Path, auth: OAuthStandIn
) -> None:
    clock = Clock()
    grant, path = signed_in(tmp_path, auth, clock)
    tokens = TokenSource(CHANNEL, oauth_config(f"{auth.base_url}/token"), path, clock)
    first = await tokens.renew(grant.access_token)
    second = await tokens.renew(grant.access_token)  # a second connection, same old token
    assert first == second != grant.access_token and auth.refreshes == 1


async def test_a_rotated_refresh_token_is_saved_owner_only(tmp_path: Path) -> None:
    with OAuthStandIn(user=USER, client_id=CLIENT_ID, rotate_refresh_tokens=True) as auth:
        clock = Clock()
        grant, path = signed_in(tmp_path, auth, clock)
        tokens = TokenSource(CHANNEL, oauth_config(f"{auth.base_url}/token"), path, clock)
        clock.now += 3600
        await tokens.token()
        saved, _ = read_grant(path)
        assert saved.refresh_token != grant.refresh_token
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left
        # The old one is spent: only the saved one keeps the mailbox signed in.
        clock.now += 3600
        await TokenSource(CHANNEL, oauth_config(f"{auth.base_url}/token"), path, clock).token()
        assert auth.refreshes == 2


async def test_a_new_login_while_running_is_picked_up(tmp_path: Path, auth: OAuthStandIn) -> None:
    clock = Clock()
    old, path = signed_in(tmp_path, auth, clock)
    tokens = TokenSource(CHANNEL, oauth_config(f"{auth.base_url}/token"), path, clock)
    assert await tokens.token() == old.access_token
    auth.revoke_grant()
    new, _ = signed_in(tmp_path, auth, clock)  # `responder login` again
    assert await tokens.token() == new.access_token
    assert auth.refreshes == 0


async def test_a_revoked_grant_means_sign_in_again(tmp_path: Path, auth: OAuthStandIn) -> None:
    clock = Clock()
    grant, path = signed_in(tmp_path, auth, clock)
    tokens = TokenSource(CHANNEL, oauth_config(f"{auth.base_url}/token"), path, clock)
    auth.revoke_grant()
    with pytest.raises(SignInExpired, match="invalid_grant"):
        await tokens.renew(grant.access_token)


async def test_never_signed_in_says_to_sign_in_not_to_sign_in_again(
    tmp_path: Path, auth: OAuthStandIn
) -> None:
    path = token_file(tmp_path, CHANNEL)
    tokens = TokenSource(CHANNEL, oauth_config(f"{auth.base_url}/token"), path)
    with pytest.raises(NotSignedIn) as caught:
        await tokens.token()
    said = diagnose(caught.value, AT)
    assert said.problem == f"no OAuth2 sign-in is saved for {CHANNEL} ({path} does not exist)"
    assert said.remedy == f"run `{LOGIN}` (it has not been signed in yet)"
    assert said.permanent and "expired" not in str(said)


async def test_a_sign_in_the_service_cannot_read_names_the_user_and_the_owner_to_give_it(
    auth: OAuthStandIn,
) -> None:
    # The service's user owns the state folder; the sign-in was saved by root some other way
    # (copied from another server), so its folder and file are root's alone.
    with reachable_state(NOBODY) as state:
        path = token_file(state, CHANNEL)
        signed_in(state, auth, Clock())
        tokens = TokenSource(CHANNEL, oauth_config(f"{auth.base_url}/token"), path)
        with as_user(NOBODY), pytest.raises(SignInUnreadable) as caught:
            await tokens.token()
        said = diagnose(caught.value, AT)
        # Given to the service's user as told, it works.
        os.chown(path.parent, NOBODY, NOBODY)
        os.chown(path, NOBODY, NOBODY)
        with as_user(NOBODY):
            assert await tokens.token()
    assert said.problem == f"user nobody cannot read the saved sign-in {path} (permission denied)"
    assert said.remedy == (
        f"`responder login` run as root hands the file to the owner of {state}; give it to "
        f"nobody with `sudo chown -R nobody: {path.parent}`, or run `sudo {LOGIN}` again"
    )
    assert said.permanent and "expired" not in str(said)


async def test_check_connect_run_by_another_user_says_so_rather_than_not_signed_in(
    auth: OAuthStandIn,
) -> None:
    # The admin runs `check --connect` as themselves (nobody), not as root; the sign-in is
    # saved for the service's user (daemon) in its 0700 state folder, as login leaves it.
    with reachable_state(DAEMON) as state:
        config_file = write_login_config(state.parent, auth, "generic")
        path = token_file(state, CHANNEL)
        signed_in(state, auth, Clock())
        for saved in (path.parent, path):
            os.chown(saved, DAEMON, DAEMON)
        config = load_config(config_file)
        channel = config.channels[0]
        assert isinstance(channel, EmailChannelConfig)
        with as_user(NOBODY), pytest.raises(SignInUnreadable) as caught:
            await SignIns(config, str(config_file)).get(channel, "smtp")
    at = replace(AT, service="smtp", key="smtp", config_file=str(config_file))
    assert str(failed(f"{CHANNEL} SMTP", caught.value, at)) == (
        f"FAIL {CHANNEL} SMTP: user nobody cannot read the saved sign-in {path} (permission "
        f"denied): the saved sign-in belongs to daemon, the owner of {state}: run this as "
        "root (sudo) or as daemon"
    )


async def test_a_refused_app_sends_the_admin_to_its_registration_not_to_sign_in(
    tmp_path: Path,
) -> None:
    with OAuthStandIn(user=USER, client_id=CLIENT_ID, client_secret="right-secret") as auth:
        grant, path = signed_in(tmp_path, auth, Clock())
        secret = tmp_path / "client-secret"
        secret.write_text("an-old-secret\n")  # the app's secret was renewed since
        config = oauth_config(f"{auth.base_url}/token", secret=secret)
        tokens = TokenSource(CHANNEL, config, path)
        with pytest.raises(OAuthAppRefused) as caught:
            await tokens.renew(grant.access_token)
    said = diagnose(caught.value, AT)
    assert said.problem == (
        f"the sign-in service {auth.base_url.removeprefix('http://')} refused the app that "
        f"signs in {CHANNEL} (oauth2.client_id {CLIENT_ID}): invalid_client: unknown client "
        "or wrong secret"
    )
    assert said.remedy == (
        "check oauth2.client_id, client_secret_file and token_url against the app "
        "registration at your sign-in service; signing in again does not help"
    )
    assert said.key == "oauth2.client_id" and "login" not in said.remedy
    assert auth.grant_active(grant.refresh_token)  # the grant itself is fine and kept
    assert read_grant(path)[0] == grant


async def test_a_token_url_that_answers_no_oauth2_error_is_the_settings_fault(
    tmp_path: Path, auth: OAuthStandIn
) -> None:
    grant, path = signed_in(tmp_path, auth, Clock())
    with PlainAnswer(400) as wrong:
        tokens = TokenSource(CHANNEL, oauth_config(wrong.url), path)
        with pytest.raises(OAuthAppRefused) as caught:
            await tokens.renew(grant.access_token)
    said = diagnose(caught.value, AT)
    assert said.problem.endswith(f"(oauth2.client_id {CLIENT_ID}): HTTP 400")
    assert said.remedy.startswith("check oauth2.client_id, client_secret_file and token_url ")


async def test_another_app_registration_means_sign_in_again(
    tmp_path: Path, auth: OAuthStandIn
) -> None:
    clock = Clock()
    _, path = signed_in(tmp_path, auth, clock)
    config = oauth_config(f"{auth.base_url}/token").model_copy(update={"client_id": "other"})
    with pytest.raises(SignInExpired, match="another app"):
        await TokenSource(CHANNEL, config, path, clock).token()


async def test_an_unreachable_sign_in_service_is_a_passing_fault(
    tmp_path: Path, auth: OAuthStandIn
) -> None:
    clock = Clock()
    _, path = signed_in(tmp_path, auth, clock)
    before = path.read_bytes()
    nothing = f"http://127.0.0.1:{free_port()}/token"
    tokens = TokenSource(CHANNEL, oauth_config(nothing), path, clock)
    clock.now += 3600
    with pytest.raises(ChannelDown, match="connection refused") as caught:
        await tokens.token()
    assert not isinstance(caught.value, SignInExpired)
    assert path.read_bytes() == before  # the grant is kept for when the service is back


async def test_no_secret_in_reprs_or_logs(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client_secret = "GOCSPX-the-apps-secret"
    with OAuthStandIn(
        user=USER, client_id=CLIENT_ID, client_secret=client_secret, rotate_refresh_tokens=True
    ) as auth:
        clock = Clock()
        grant, path = signed_in(tmp_path, auth, clock)
        secret_file = tmp_path / "client-secret"
        secret_file.write_text(f"{client_secret}\n")
        config = oauth_config(f"{auth.base_url}/token", secret=secret_file)
        tokens = TokenSource(CHANNEL, config, path, clock)
        clock.now += 3600
        fresh = await tokens.token()  # a refresh, with a new refresh token
        auth.revoke_grant()
        clock.now += 3600
        with pytest.raises(SignInExpired) as refused:
            await tokens.token()
    saved, _ = read_grant(path)
    assert auth.refreshes == 1 and saved.access_token == fresh
    assert "new OAuth2 access token" in caplog.text  # the refresh's log was captured
    secrets = [grant.refresh_token, grant.access_token, saved.refresh_token, fresh, client_secret]
    shown = [repr(grant), str(grant), repr(saved), repr(tokens), repr(config), str(refused.value)]
    for secret in secrets:
        assert secret not in caplog.text
        assert not [s for s in shown if secret in s]
    data = json.loads(path.read_text())
    assert data["refresh_token"] == saved.refresh_token  # the file itself does hold it
