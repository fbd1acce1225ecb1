"""`responder login` as an admin runs it on a VPS: Microsoft 365 by device code (msal), Google by
the installed-app flow (the browser here, or elsewhere with the address pasted back), another
service by RFC 8628. The command runs as a process; a small "browser" answers its prompts."""

from __future__ import annotations

import os
import queue
import re
import signal
import ssl
import stat
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import SUPPORT
from oauthkit import CHANNEL, CLIENT_ID, write_login_config, write_mailbox_config

from responder.channels.oauth.grant import read_grant
from responder.config import EmailChannelConfig, load_config
from responder.config.oauth import token_file
from responder.testing.oauth import OAuthStandIn

URL = re.compile(r"https?://\S+")


def login(config: Path) -> list[str]:
    """`responder login -c CONFIG support-mail`, as a command line."""
    return [sys.executable, "-m", "responder.cli", "login", "-c", str(config), CHANNEL]


class Terminal:
    """`responder login -c CONFIG CHANNEL` in a process, its output read as it comes."""

    def __init__(self, config: Path, env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            login(config),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def expect(self, pattern: str, timeout: float = 20.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            self.seen.append(line)
            match = re.search(pattern, line)
            if match:
                return match
        raise AssertionError(f"no {pattern!r} in the output: {''.join(self.seen)}")

    def type(self, text: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def finish(self, timeout: float = 30.0) -> tuple[int, str, str]:
        code = self.proc.wait(timeout)
        time.sleep(0.1)  # the reader thread drains the pipe
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        assert self.proc.stderr is not None
        return code, "".join(self.seen), self.proc.stderr.read()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    started: list[Terminal] = []
    yield started
    for terminal in started:
        terminal.close()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def browser_approves(url: str) -> str:
    """The admin opens the address and allows access; returns where the browser goes next."""
    opener = urllib.request.build_opener(NoRedirect)
    with pytest.raises(urllib.error.HTTPError) as answer:
        opener.open(url, timeout=10)
    assert answer.value.code == 302
    location = answer.value.headers["Location"]
    answer.value.close()
    return str(location)


def visit(url: str, ca_file: Path | None = None) -> str:
    context = ssl.create_default_context(cafile=str(ca_file)) if ca_file else None
    with urllib.request.urlopen(url, timeout=10, context=context) as page:
        return str(page.read().decode())


def assert_signed_in(tmp_path: Path, auth: OAuthStandIn, config: Path, out: str, err: str) -> None:
    assert f"Signed in as {SUPPORT}." in out
    assert f"Next: responder check --connect -c {config}" in out
    path = token_file(tmp_path / "state", CHANNEL)
    grant, _ = read_grant(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert grant.client_id == CLIENT_ID and grant.account == SUPPORT
    # The refresh token is one the service issued, and the terminal never showed it.
    assert auth.grant_active(grant.refresh_token)
    for secret in (grant.refresh_token, grant.access_token):
        assert secret not in out and secret not in err


def test_microsoft_365_signs_in_with_a_device_code(
    tmp_path: Path, terminals: list[Terminal]
) -> None:
    with OAuthStandIn(user=SUPPORT, client_id=CLIENT_ID, tls=True) as auth:
        assert auth.ca_file is not None
        config = write_login_config(tmp_path, auth, "microsoft365")
        # msal insists on https: the stand-in's CA is trusted the way requests is told to.
        terminal = Terminal(config, {"REQUESTS_CA_BUNDLE": str(auth.ca_file)})
        terminals.append(terminal)
        found = terminal.expect(r"open the page (\S+) and enter the code (\S+) ")
        terminal.expect(f"Sign in as {SUPPORT}")
        visit(f"{found.group(1)}?user_code={found.group(2)}", auth.ca_file)
        code, out, err = terminal.finish()
    assert code == 0, err
    assert_signed_in(tmp_path, auth, config, out, err)


@pytest.mark.parametrize("browser", ["on this computer", "on another computer"])
def test_google_signs_in_through_the_loopback_address(
    tmp_path: Path, terminals: list[Terminal], browser: str
) -> None:
    with OAuthStandIn(user=SUPPORT, client_id=CLIENT_ID, client_secret="not-secret") as auth:
        config = write_login_config(tmp_path, auth, "google-workspace")
        terminal = Terminal(config)
        terminals.append(terminal)
        url = terminal.expect(re.escape(f"{auth.base_url}/authorize?") + r"\S+").group(0)
        terminal.expect("paste it here")
        final = browser_approves(url)
        assert final.startswith("http://127.0.0.1:")
        if browser == "on this computer":
            assert "Signed in" in visit(final)
        else:
            # The browser elsewhere shows "This site can't be reached"; its address bar holds
            # the answer, which the admin pastes (after a false start).
            terminal.type("I allowed it")
            terminal.expect("That is not the address from the browser")
            terminal.type(final)
        code, out, err = terminal.finish()
    assert code == 0, err
    assert_signed_in(tmp_path, auth, config, out, err)


def test_another_service_signs_in_with_a_device_code(
    tmp_path: Path, terminals: list[Terminal]
) -> None:
    with OAuthStandIn(user=SUPPORT, client_id=CLIENT_ID) as auth:
        config = write_login_config(tmp_path, auth, "generic")
        terminal = Terminal(config)
        terminals.append(terminal)
        url = terminal.expect(r"open (\S+)").group(1)
        terminal.expect(r"enter the code \S+")
        visit(url)
        code, out, err = terminal.finish()
    assert code == 0, err
    assert_signed_in(tmp_path, auth, config, out, err)


def config_error(config: Path) -> str:
    """`responder login` refuses the config: exit 78 (EX_CONFIG); what it said."""
    done = subprocess.run(login(config), capture_output=True, text=True, timeout=30)
    assert done.returncode == 78
    return done.stderr


def test_a_channel_that_signs_in_with_a_password_is_refused(tmp_path: Path) -> None:
    secret = tmp_path / "password"
    secret.write_text("secret\n")
    config = write_mailbox_config(tmp_path, "gmail", f"password_file: {secret}")
    said = config_error(config)
    assert "signs in with a password" in said and "channels[0]" in said
    assert not token_file(tmp_path / "state", CHANNEL).exists()


def test_google_without_its_client_secret_is_a_config_error(tmp_path: Path) -> None:
    oauth = "oauth2: {client_id: 1234-abc.apps.googleusercontent.com}"
    config = write_mailbox_config(tmp_path, "google-workspace", oauth)
    said = config_error(config)
    assert f"{config}:8" in said and "channels[0].oauth2.client_secret_file" in said
    assert "Google needs the app's client secret" in said
    # The service's own user reads the file; root-only (600) would lock it out.
    assert "mode 644" in said and "mode 600" not in said


def test_sign_in_addresses_off_this_machine_must_use_tls(tmp_path: Path) -> None:
    secret = tmp_path / "client-secret"
    secret.write_text("GOCSPX-not-confidential\n")

    def google(token_url: str) -> Path:
        oauth = (
            f"oauth2: {{client_id: 1234-abc.apps.googleusercontent.com, "
            f"client_secret_file: {secret},\n      token_url: '{token_url}'}}"
        )
        return write_mailbox_config(tmp_path, "google-workspace", oauth)

    # The client secret and the refresh token would cross the internet in the clear.
    config = google("http://oauth2.example.com/token")
    said = config_error(config)
    assert f"{config}:9" in said and "channels[0].oauth2.token_url" in said
    assert "must start with https://" in said
    assert "oauth2.example.com" not in said.replace(str(config), "")  # the value is not echoed
    assert not token_file(tmp_path / "state", CHANNEL).exists()
    # This machine's own addresses (a local stand-in) may stay plain.
    for local in ("http://127.0.0.1:8080/token", "http://[::1]:8080/token", "http://localhost/t"):
        channel = load_config(google(local), secrets="skip").channels[0]
        assert isinstance(channel, EmailChannelConfig) and channel.oauth2 is not None
        assert channel.oauth2.endpoints[1] == local


def test_ctrl_c_stops_the_sign_in_and_says_so(tmp_path: Path, terminals: list[Terminal]) -> None:
    with OAuthStandIn(user=SUPPORT, client_id=CLIENT_ID, client_secret="not-secret") as auth:
        config = write_login_config(tmp_path, auth, "google-workspace")
        terminal = Terminal(config)
        terminals.append(terminal)
        terminal.expect("paste it here")
        terminal.proc.send_signal(signal.SIGINT)  # the admin gives up waiting
        code, out, err = terminal.finish()
    assert code == 130  # as a shell reports a command stopped by Ctrl-C, not 0 (success)
    assert "Traceback" not in err and "Signed in" not in out
    assert not token_file(tmp_path / "state", CHANNEL).exists()
