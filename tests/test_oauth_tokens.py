"""A channel's access tokens: refreshed before expiry, once for every connection, rotated
refresh tokens kept, a new `responder login` picked up, a revoked grant and an unreachable
sign-in service told apart. Real HTTP to the OAuth2 stand-in; only our clock is ours."""

from __future__ import annotations

import asyncio
import json
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from oauthkit import CHANNEL, CLIENT_ID

from responder.config_oauth import OAuth2Config, token_file
from responder.devservers import free_port
from responder.devservers.oauth import OAuthStandIn
from responder.errors import ChannelDown, SignInExpired
from responder.oauth.grant import Grant, read_grant, write_grant
from responder.oauth.tokens import TokenSource

USER = "support@toko-contoh.id"


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def auth() -> Iterator[OAuthStandIn]:
    with OAuthStandIn(user=USER, client_id=CLIENT_ID, access_lifetime=600) as server:
        yield server


def oauth_config(token_url: str, provider: str = "generic") -> OAuth2Config:
    return OAuth2Config(
        provider=provider,  # type: ignore[arg-type]
        client_id=CLIENT_ID,
        token_url=token_url,
        authorization_url="http://127.0.0.1:9/authorize",
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


async def test_never_signed_in(tmp_path: Path, auth: OAuthStandIn) -> None:
    path = token_file(tmp_path, CHANNEL)
    tokens = TokenSource(CHANNEL, oauth_config(f"{auth.base_url}/token"), path)
    with pytest.raises(SignInExpired, match="no sign-in saved yet"):
        await tokens.token()


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


def test_no_secret_in_reprs_or_logs(tmp_path: Path, auth: OAuthStandIn) -> None:
    clock = Clock()
    grant, path = signed_in(tmp_path, auth, clock)
    tokens = TokenSource(CHANNEL, oauth_config(f"{auth.base_url}/token"), path, clock)
    for shown in (repr(grant), str(grant), repr(tokens)):
        assert grant.refresh_token not in shown and grant.access_token not in shown
    data = json.loads(path.read_text())
    assert data["refresh_token"] == grant.refresh_token  # the file itself does hold it
