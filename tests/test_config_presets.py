"""Provider presets: the admin writes the address (and for cPanel the host); the rest is filled."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from responder.config import Config, EmailChannelConfig, load_config_text
from responder.config.presets import sent_name
from responder.errors import ConfigError

HEAD = "timezone: Asia/Jakarta\nstate_dir: state\nchannels:\n"


def channel(body: str, tmp_path: Path) -> EmailChannelConfig:
    (tmp_path / "mail.pw").write_text("app-password\n")
    (tmp_path / "google.secret").write_text("GOCSPX-not-secret\n")
    text = HEAD + "  - name: support\n    type: email\n" + body
    config: Config = load_config_text(text, "config.yaml", tmp_path, environ={})
    found = config.channels[0]
    assert isinstance(found, EmailChannelConfig)
    return found


def problems(body: str, tmp_path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        channel(body, tmp_path)
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize(
    ("body", "imap", "smtp", "sent", "auth"),
    [
        (
            "    provider: gmail\n    address: toko@gmail.com\n    password_file: mail.pw\n",
            ("imap.gmail.com", 993, "tls"),
            ("smtp.gmail.com", 465, "tls"),
            "[Gmail]/Sent Mail",
            "password",
        ),
        (
            "    provider: google-workspace\n    address: cs@toko.id\n"
            "    oauth2: {client_id: 1.apps.googleusercontent.com,"
            " client_secret_file: google.secret}\n",
            ("imap.gmail.com", 993, "tls"),
            ("smtp.gmail.com", 465, "tls"),
            "[Gmail]/Sent Mail",
            "oauth2",
        ),
        (
            "    provider: microsoft365\n    address: cs@toko.id\n"
            "    oauth2: {client_id: 9e5f94bc-e8a4-4e73-b8be-63364c29d753, tenant: toko.id}\n",
            ("outlook.office365.com", 993, "tls"),
            ("smtp.office365.com", 587, "starttls"),
            "Sent Items",
            "oauth2",
        ),
        (
            "    provider: cpanel\n    host: mail.toko.id\n    address: halo@toko.id\n"
            "    password_file: mail.pw\n",
            ("mail.toko.id", 993, "tls"),
            ("mail.toko.id", 465, "tls"),
            "INBOX.Sent",
            "password",
        ),
    ],
    ids=["gmail", "google-workspace", "microsoft365", "cpanel"],
)
def test_a_preset_needs_only_the_address(
    body: str,
    imap: tuple[str, int, str],
    smtp: tuple[str, int, str],
    sent: str,
    auth: str,
    tmp_path: Path,
) -> None:
    found = channel(body, tmp_path)
    assert (found.imap.host, found.imap.port, found.imap.security) == imap
    assert (found.smtp.host, found.smtp.port, found.smtp.security) == smtp
    # Found at sign-in, named in the account's language; the English name is tried first
    # when the server marks no folder \Sent.
    assert found.imap.sent_folder == "auto"
    assert sent_name(found.provider) == sent
    assert found.imap.username == found.smtp.username == found.address
    assert found.smtp.envelope_from == found.address  # a signed-in submission server wants it
    assert found.imap.auth == found.smtp.auth == auth
    if auth == "password":
        assert found.imap.password == found.smtp.password == SecretStr("app-password")
    else:
        assert found.oauth2 is not None and found.imap.password is None
        assert found.oauth2.provider == ("google" if "google" in body else "microsoft")


def test_what_the_admin_writes_wins_over_the_preset(tmp_path: Path) -> None:
    found = channel(
        "    provider: gmail\n    address: toko@gmail.com\n    password_file: mail.pw\n"
        "    imap: {sent_folder: '[Gmail]/Terkirim'}\n    smtp: {port: 587, security: starttls}\n",
        tmp_path,
    )
    assert found.imap.sent_folder == "[Gmail]/Terkirim"
    assert found.imap.host == "imap.gmail.com"
    assert (found.smtp.port, found.smtp.security) == (587, "starttls")


def test_a_workspace_that_allows_app_passwords_signs_in_with_one(tmp_path: Path) -> None:
    found = channel(
        "    provider: google-workspace\n    address: cs@toko.id\n    password_file: mail.pw\n",
        tmp_path,
    )
    assert found.imap.auth == "password"
    assert found.smtp.password == SecretStr("app-password")


def test_cpanel_without_a_host_says_where_to_find_it(tmp_path: Path) -> None:
    found = problems(
        "    provider: cpanel\n    address: halo@toko.id\n    password_file: mail.pw\n", tmp_path
    )
    assert found == [
        'config.yaml:4:5: channels[0]: provider cpanel needs "host": your mail server\'s '
        "name, like mail.toko-contoh.id (cPanel > Email Accounts > Connect Devices)"
    ]


def test_microsoft365_without_an_app_registration_is_refused(tmp_path: Path) -> None:
    found = problems("    provider: microsoft365\n    address: cs@toko.id\n", tmp_path)
    assert len(found) == 1
    assert "provider microsoft365 signs in with OAuth2: add an oauth2 block" in found[0]


def test_a_missing_password_file_is_reported_once_where_it_was_written(tmp_path: Path) -> None:
    found = problems(
        "    provider: gmail\n    address: toko@gmail.com\n    password_file: nope.pw\n", tmp_path
    )
    assert len(found) == 1
    assert found[0].startswith("config.yaml:8:20: channels[0].password_file: cannot read ")


def test_an_unknown_provider_lists_the_known_ones(tmp_path: Path) -> None:
    found = problems("    provider: yahoo\n    address: a@b.id\n", tmp_path)
    assert any(
        "channels[0].provider: expected one of gmail, google-workspace, microsoft365, cpanel, "
        'generic, got "yahoo"' in p
        for p in found
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "    provider: cpanel\n    host: mail.toko.id\n    address: halo@toko.id\n",
            "config.yaml:4:5: channels[0]: provider cpanel signs in with a password: add "
            "password_file (a file holding it) or password_env",
        ),
        (
            "    provider: google-workspace\n    address: cs@toko.id\n    password_file: mail.pw\n"
            "    oauth2: {client_id: 1.apps.googleusercontent.com, client_secret_file: x}\n",
            "config.yaml:9:13: channels[0].oauth2: give password_file (or password_env) or an "
            "oauth2 block, not both",
        ),
        (
            "    address: cs@toko.id\n    oauth2: {provider: microsoft, client_id: abc}\n"
            "    imap: {host: h, port: 993, username: cs@toko.id, auth: oauth2, password_file: p}\n"
            "    smtp: {host: h, port: 587, username: cs@toko.id, auth: oauth2}\n",
            "config.yaml:8:83: channels[0].imap.password_file: auth is oauth2, which signs in "
            "without a password: remove this",
        ),
    ],
    ids=["no-password", "both", "oauth-with-password"],
)
def test_a_sign_in_given_wrongly_is_one_clear_error(
    body: str, expected: str, tmp_path: Path
) -> None:
    assert problems(body, tmp_path) == [expected]


def test_gmail_with_an_oauth2_block_signs_in_with_google(tmp_path: Path) -> None:
    found = channel(
        "    provider: gmail\n    address: toko@gmail.com\n"
        "    oauth2: {client_id: 1.apps.googleusercontent.com,\n"
        "             client_secret_file: google.secret}\n",
        tmp_path,
    )
    assert found.imap.auth == found.smtp.auth == "oauth2"
    assert found.oauth2 is not None and found.oauth2.provider == "google"
