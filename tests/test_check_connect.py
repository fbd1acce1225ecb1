"""`responder check --connect` against real servers: Dovecot, an aiosmtpd SMTP server that
signs users in, the Bot API stand-in and real sockets; one line per check, with its remedy."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import testdb
from aiosmtpd.controller import Controller
from harness import STAFF_GROUP, TELEGRAM_TOKEN
from mailfactory import SUPPORT_PASSWORD, SUPPORT_USER

from responder.channels.oauth.grant import Grant, write_grant
from responder.cli import EX_CONFIG, EX_FAILURE, EX_OK, main
from responder.config.oauth import token_file
from responder.storage.migrations import LATEST
from responder.testing import Dovecot, TelegramStandIn, free_port
from responder.testing.oauth import OAuthStandIn

SMTP_PASSWORD = "secret-smtp"
ACCESS_TOKEN = "ya29.access-token-for-the-check"
BOT = "responder_test_bot"
BOT_ID = int(TELEGRAM_TOKEN.split(":")[0])


class _SubmissionServer:
    """aiosmtpd's handler hooks: AUTH PLAIN (RFC 4954) with a password and XOAUTH2 with an
    access token, for one account; and DATA, which a check must never reach."""

    def __init__(self) -> None:
        self.signed_in: list[tuple[str, str]] = []  # (mechanism, user)
        self.messages = 0

    async def handle_AUTH(self, server: Any, session: Any, envelope: Any, args: list[str]) -> str:
        # The initial response rides on the command (RFC 4954 section 4), as aiosmtplib sends it.
        mechanism, blob = args[0], base64.b64decode(args[1]).decode()
        if mechanism == "PLAIN":
            _, user, secret = blob.split("\0")
        else:  # XOAUTH2: "user=" user ^A "auth=Bearer " token ^A ^A (Google's, Microsoft's docs)
            fields = dict(f.split("=", 1) for f in blob.split("\x01") if f)
            user, secret = fields["user"], fields["auth"].removeprefix("Bearer ")
        if (user, secret) not in ((SUPPORT_USER, SMTP_PASSWORD), (SUPPORT_USER, ACCESS_TOKEN)):
            return "535 5.7.8 Authentication credentials invalid"
        session.authenticated = True
        self.signed_in.append((mechanism, user))
        return "235 2.7.0 Authentication successful"

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> None:
        """Only here so EHLO offers XOAUTH2; handle_AUTH answers."""

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages += 1
        return "250 OK"


@pytest.fixture
def submission() -> Iterator[tuple[_SubmissionServer, int]]:
    """Plain-text SMTP on 127.0.0.1 that offers AUTH PLAIN without TLS (loopback only)."""
    handler = _SubmissionServer()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=free_port(),
        auth_require_tls=False,
        auth_exclude_mechanism=["LOGIN"],
    )
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


@pytest.fixture
def shop(
    tmp_path: Path,
    dovecot: Dovecot,
    submission: tuple[_SubmissionServer, int],
    tg: TelegramStandIn,
) -> dict[str, Any]:
    """A working shop: the mailbox with a Sent folder the server marks \\Sent (RFC 6154),
    the bot in its staff group, a free HTTP port; tests break one thing each."""
    dovecot.create(SUPPORT_USER, "Sent")
    dovecot.create(SUPPORT_USER, "Selesai")
    tg.staff[BOT_ID] = "member"
    base = tmp_path
    (base / "state").mkdir()
    (base / "imap-password").write_text(SUPPORT_PASSWORD + "\n")
    (base / "smtp-password").write_text(SMTP_PASSWORD + "\n")
    (base / "telegram-token").write_text(TELEGRAM_TOKEN + "\n")
    return {
        "timezone": "Asia/Jakarta",
        "state_dir": str(base / "state"),
        "http": {"port": free_port()},
        "channels": [
            {
                "name": "support-mail",
                "type": "email",
                "address": SUPPORT_USER,
                "imap": {
                    "host": "127.0.0.1",
                    "port": dovecot.port,
                    "security": "none",
                    "username": SUPPORT_USER,
                    "password_file": str(base / "imap-password"),
                    "sent_folder": "Sent",
                    "timeout": "5s",
                },
                "smtp": {
                    "host": "127.0.0.1",
                    "port": submission[1],
                    "security": "none",
                    "username": SUPPORT_USER,
                    "password_file": str(base / "smtp-password"),
                    "timeout": "5s",
                },
            },
            {
                "name": "shop-bot",
                "type": "telegram",
                "token_file": str(base / "telegram-token"),
                "api_url": tg.base_url.removesuffix("/bot"),
                "staff_chat_id": STAFF_GROUP,
                "timeout": "5s",
            },
        ],
    }


def save(tmp_path: Path, config: dict[str, Any]) -> Path:
    """The config as a file, where the tests expect it."""
    path = tmp_path / "config.yaml"
    path.write_text(json.dumps(config, indent=2))  # JSON is YAML
    return path


Check = Callable[[dict[str, Any]], tuple[int, list[str]]]


@pytest.fixture
def check(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Check:
    """Runs `responder check -c FILE --connect` on a config; its exit code and its lines after
    the config's own OK and the database's line (a new SQLite file: the daemon makes it)."""

    def run(config: dict[str, Any]) -> tuple[int, list[str]]:
        code = main(["check", "-c", str(save(tmp_path, config)), "--connect"])
        lines = capsys.readouterr().out.splitlines()[1:]
        database = tmp_path / "state" / "responder.db"
        sqlite = (
            f"ok   database: no database at {database} yet: the daemon creates it at its "
            "first start",
            f"ok   database: SQLite {sqlite3.sqlite_version} at {database}, schema version "
            f"{LATEST} (current)",
        )
        if testdb.ON_POSTGRESQL:
            assert lines[0].startswith("ok   database: PostgreSQL "), lines[0]
        else:
            assert lines[0] in sqlite, lines[0]
        return code, lines[1:]

    return run


def email(config: dict[str, Any], section: str) -> dict[str, Any]:
    section_config: dict[str, Any] = config["channels"][0][section]
    return section_config


def secret(config: dict[str, Any], section: str) -> Path:
    """The file with the mailbox's "imap" or "smtp" password, or the bot's "telegram" token."""
    if section == "telegram":
        return Path(config["channels"][1]["token_file"])
    return Path(email(config, section)["password_file"])


@contextmanager
def listening() -> Iterator[int]:
    """A port on 127.0.0.1 that takes connections and never answers (another program's)."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        yield other.getsockname()[1]


def test_all_good_signs_in_everywhere_and_sends_nothing(
    shop: dict[str, Any],
    dovecot: Dovecot,
    submission: tuple[_SubmissionServer, int],
    tg: TelegramStandIn,
    check: Check,
) -> None:
    email(shop, "imap")["done_folder"] = "Selesai"
    code, lines = check(shop)
    imap, smtp, http = f"127.0.0.1:{dovecot.port}", f"127.0.0.1:{submission[1]}", shop["http"]
    assert lines == [
        f"ok   support-mail IMAP: signed in to {imap} as {SUPPORT_USER}; "
        "INBOX, Sent and Selesai open",
        f"ok   support-mail SMTP: signed in to {smtp} as {SUPPORT_USER} without encryption; "
        "nothing was sent",
        f"ok   shop-bot Telegram: the token works: this is the bot @{BOT}",
        f'ok   shop-bot staff group: @{BOT} is a member of "Toko Contoh staff" ({STAFF_GROUP}) '
        "and may post there",
        f"ok   http: 127.0.0.1:{http['port']} is free to listen on",
        "all 6 checks passed",
    ]
    assert code == EX_OK
    assert submission[0].signed_in == [("PLAIN", SUPPORT_USER)]
    assert submission[0].messages == 0
    assert tg.sent == []


def test_wrong_imap_password_names_the_file_to_fix(shop: dict[str, Any], check: Check) -> None:
    secret(shop, "imap").write_text("not-the-password\n")
    code, lines = check(shop)
    assert lines[0] == (
        f"FAIL support-mail IMAP: the password for {SUPPORT_USER} was refused by 127.0.0.1: "
        "check imap.password_file and imap.username"
    )
    assert lines[1].startswith("ok   support-mail SMTP: signed in")  # the others still checked
    assert lines[-1].startswith("1 of 6 checks failed: fix what the lines above say")
    assert code == EX_FAILURE
    assert "not-the-password" not in "\n".join(lines)


def test_gmail_password_refused_points_to_app_passwords(shop: dict[str, Any], check: Check) -> None:
    # The Gmail preset's remedy, reached through a Dovecot standing in for imap.gmail.com.
    shop["channels"][0]["provider"] = "gmail"
    secret(shop, "imap").write_text("account-password\n")
    code, lines = check(shop)
    assert lines[0].startswith(
        f"FAIL support-mail IMAP: the password for {SUPPORT_USER} was refused by 127.0.0.1: "
        "Gmail needs an app password"
    )
    assert lines[0].endswith("see README#gmail")
    assert code == EX_FAILURE


def test_unknown_host_says_which_name_cannot_be_found(shop: dict[str, Any], check: Check) -> None:
    # RFC 2606: .invalid never resolves.
    email(shop, "imap")["host"] = "imap.toko-contoh.invalid"
    email(shop, "smtp")["host"] = "smtp.toko-contoh.invalid"
    code, lines = check(shop)
    assert lines[:2] == [
        "FAIL support-mail IMAP: the IMAP server name imap.toko-contoh.invalid cannot be found "
        "(DNS): check imap.host for typos; `getent hosts imap.toko-contoh.invalid` must print "
        "an address",
        "FAIL support-mail SMTP: the SMTP server name smtp.toko-contoh.invalid cannot be found "
        "(DNS): check smtp.host for typos; `getent hosts smtp.toko-contoh.invalid` must print "
        "an address",
    ]
    assert code == EX_FAILURE


def test_closed_port_says_nothing_answers(shop: dict[str, Any], check: Check) -> None:
    closed = free_port()
    email(shop, "imap")["port"] = closed
    code, lines = check(shop)
    assert lines[0] == (
        f"FAIL support-mail IMAP: nothing answers on 127.0.0.1:{closed} (connection refused): "
        "check imap.port, and that the server runs"
    )
    assert code == EX_FAILURE


def test_silent_server_is_given_up_on_after_the_timeout(shop: dict[str, Any], check: Check) -> None:
    # It takes the connection but never greets: a firewall that swallows packets looks alike.
    with listening() as port:
        email(shop, "imap").update(port=port, timeout="1s")
        started = time.monotonic()
        code, lines = check(shop)
    assert lines[0] == (
        f"FAIL support-mail IMAP: 127.0.0.1:{port} did not answer in time: check imap.host and "
        "imap.port, and that a firewall lets the VPS reach it"
    )
    assert time.monotonic() - started < 4
    assert code == EX_FAILURE


def test_wrong_folders_get_the_name_the_server_uses(
    shop: dict[str, Any], dovecot: Dovecot, check: Check
) -> None:
    email(shop, "imap")["sent_folder"] = "Sent Mail"  # a Gmail name on another server
    email(shop, "imap")["done_folder"] = "selesai"  # the folder is "Selesai"
    code, lines = check(shop)
    assert lines[:3] == [
        f"ok   support-mail IMAP: signed in to 127.0.0.1:{dovecot.port} as {SUPPORT_USER}; "
        "INBOX open",
        f'FAIL support-mail IMAP: there is no folder "Sent Mail" in {SUPPORT_USER} on 127.0.0.1: '
        'the server marks "Sent" as the Sent folder: set imap.sent_folder: "Sent" '
        "(or auto, which finds it)",
        f'FAIL support-mail IMAP: there is no folder "selesai" in {SUPPORT_USER} on 127.0.0.1: '
        'set imap.done_folder to the folder\'s exact name: "Selesai"',
    ]
    assert lines[-1].startswith("2 of 8 checks failed")
    assert code == EX_FAILURE


def test_wrong_smtp_password_names_the_file_to_fix(
    shop: dict[str, Any], submission: tuple[_SubmissionServer, int], check: Check
) -> None:
    secret(shop, "smtp").write_text("wrong-smtp\n")
    code, lines = check(shop)
    assert lines[1] == (
        f"FAIL support-mail SMTP: the password for {SUPPORT_USER} was refused by 127.0.0.1: "
        "check smtp.password_file and smtp.username"
    )
    assert code == EX_FAILURE
    assert submission[0].messages == 0


def test_bad_telegram_token_sends_the_admin_to_botfather(
    shop: dict[str, Any], check: Check
) -> None:
    wrong = "123456:ANOTHER-token-from-an-old-bot-xyz"
    secret(shop, "telegram").write_text(wrong + "\n")
    code, lines = check(shop)
    assert lines[2] == (
        "FAIL shop-bot Telegram: the token was refused by 127.0.0.1: check token_file: copy the "
        "token BotFather gave (or /revoke for a new one)"
    )
    assert not lines[3].startswith(("ok   shop-bot", "FAIL shop-bot"))  # no group check
    assert wrong not in "\n".join(lines)
    assert code == EX_FAILURE


@pytest.mark.parametrize(
    ("bot_status", "staff_chat", "expected"),
    [
        (
            "left",
            STAFF_GROUP,
            f'@{BOT} is not a member of the staff group "Toko Contoh staff" ({STAFF_GROUP}): '
            f"add @{BOT} to the group (group info > Add members)",
        ),
        (
            "member",
            -1009999999999,
            f"Telegram does not know the staff group -1009999999999, or @{BOT} is not in it: add "
            f"@{BOT} to the group (group info > Add members), then check staff_chat_id: the "
            "group's id, a negative number",
        ),
    ],
    ids=["bot-not-in-group", "wrong-group-id"],
)
def test_staff_group_problem_says_how_to_let_the_bot_in(
    shop: dict[str, Any],
    tg: TelegramStandIn,
    check: Check,
    bot_status: str,
    staff_chat: int,
    expected: str,
) -> None:
    tg.staff[BOT_ID] = bot_status
    shop["channels"][1]["staff_chat_id"] = staff_chat
    code, lines = check(shop)
    assert lines[2] == f"ok   shop-bot Telegram: the token works: this is the bot @{BOT}"
    assert lines[3] == f"FAIL shop-bot staff group: {expected}"
    assert code == EX_FAILURE


def test_a_group_that_became_a_supergroup_gets_its_new_id(
    shop: dict[str, Any], tg: TelegramStandIn, check: Check
) -> None:
    # Bot API: a group upgraded to a supergroup answers with migrate_to_chat_id.
    tg.fail_next("getChat", 400, migrate_to_chat_id=-1001234567890)
    code, lines = check(shop)
    assert lines[3] == (
        f"FAIL shop-bot staff group: the staff group {STAFF_GROUP} became a supergroup with a "
        "new id: set staff_chat_id: -1001234567890"
    )
    assert code == EX_FAILURE


def test_http_port_taken_by_another_program(shop: dict[str, Any], check: Check) -> None:
    with listening() as port:
        shop["http"]["port"] = port
        code, lines = check(shop)
    assert lines[4] == (
        f"FAIL http: another program already listens on 127.0.0.1:{port}: stop that program "
        "(another responder?), or set http.port to a free port"
    )
    assert code == EX_FAILURE


async def test_http_port_of_the_running_daemon_is_fine(
    tmp_path: Path, shop: dict[str, Any], check: Check
) -> None:
    from harness import running

    port = shop["http"]["port"]
    async with running(save(tmp_path, shop)):
        code, lines = await asyncio.to_thread(check, shop)
    assert lines[4] == (
        f"ok   http: 127.0.0.1:{port} is taken by responder, which is running now "
        "(/healthz answers)"
    )
    assert code == EX_OK


def with_oauth(config: dict[str, Any], *sections: str) -> None:
    """Make the mailbox sign in with OAuth2 (XOAUTH2) for these sections."""
    channel = config["channels"][0]
    channel["oauth2"] = {
        "provider": "generic",
        "client_id": "responder-test",
        "token_url": "http://127.0.0.1:9/token",  # not reached: the saved token is fresh
        "authorization_url": "http://127.0.0.1:9/authorize",
    }
    for section in sections:
        channel[section]["auth"] = "oauth2"
        del channel[section]["password_file"]


def save_grant(
    config: dict[str, Any], refresh: str, access: str = "", lifetime: float = 0.0
) -> None:
    """What `responder login` leaves in the state folder; no `access` token: it refreshes first."""
    grant = Grant("generic", "responder-test", refresh, SUPPORT_USER)
    if access:
        grant = grant.with_access(access, lifetime, time.time())
    write_grant(token_file(Path(config["state_dir"]), "support-mail"), grant)


def test_oauth2_sign_in_uses_the_saved_access_token(
    shop: dict[str, Any], submission: tuple[_SubmissionServer, int], check: Check
) -> None:
    with_oauth(shop, "smtp")
    save_grant(shop, "refresh-token", ACCESS_TOKEN, 3600)
    code, lines = check(shop)
    assert lines[1] == (
        f"ok   support-mail SMTP: signed in to 127.0.0.1:{submission[1]} as {SUPPORT_USER} "
        "with OAuth2 without encryption; nothing was sent"
    )
    assert submission[0].signed_in == [("XOAUTH2", SUPPORT_USER)]
    assert ACCESS_TOKEN not in "\n".join(lines)
    assert code == EX_OK


def test_oauth2_mailbox_never_signed_in_says_to_run_login(
    tmp_path: Path, shop: dict[str, Any], check: Check
) -> None:
    with_oauth(shop, "imap", "smtp")
    code, lines = check(shop)
    grant = Path(shop["state_dir"]) / "oauth" / "support-mail.json"
    login = f"`responder login -c {tmp_path / 'config.yaml'} support-mail`"
    expected = (
        f"no OAuth2 sign-in is saved for support-mail ({grant} does not exist): run {login} "
        "(it has not been signed in yet)"
    )
    assert lines[:2] == [
        f"FAIL support-mail IMAP: {expected}",
        f"FAIL support-mail SMTP: {expected}",
    ]
    assert code == EX_FAILURE


@pytest.fixture
def oauth_mail(tmp_path: Path, shop: dict[str, Any]) -> Iterator[tuple[OAuthStandIn, Dovecot]]:
    """A sign-in service for the support mailbox, and a Dovecot that checks bearer tokens
    with it (oauth2 passdb, RFC 7662 introspection). The shop's IMAP signs in there over
    XOAUTH2 with a grant `responder login` would have saved; it has no access token yet, so
    the check refreshes first."""
    with OAuthStandIn(user=SUPPORT_USER, client_id="responder-test") as auth:
        users = {SUPPORT_USER: SUPPORT_PASSWORD, "staff@toko-contoh.id": "x"}
        url = auth.introspection_url
        with Dovecot(tmp_path / "dovecot-oauth", users, oauth2_introspection=url) as dovecot:
            with_oauth(shop, "imap")
            shop["channels"][0]["oauth2"] |= {
                "token_url": f"{auth.base_url}/token",
                "authorization_url": f"{auth.base_url}/authorize",
            }
            email(shop, "imap")["port"] = dovecot.port
            del email(shop, "imap")["sent_folder"]  # this Dovecot's mailbox has INBOX only
            save_grant(shop, auth.sign_in()["refresh_token"])
            yield auth, dovecot


def test_oauth2_imap_refreshes_the_token_and_signs_in(
    shop: dict[str, Any], oauth_mail: tuple[OAuthStandIn, Dovecot], check: Check
) -> None:
    auth, dovecot = oauth_mail
    code, lines = check(shop)
    assert lines[0] == (
        f"ok   support-mail IMAP: signed in to 127.0.0.1:{dovecot.port} as {SUPPORT_USER} "
        "with OAuth2; INBOX open"
    )
    assert auth.refreshes == 1
    assert code == EX_OK


def test_oauth2_revoked_grant_says_to_sign_in_again(
    tmp_path: Path, shop: dict[str, Any], oauth_mail: tuple[OAuthStandIn, Dovecot], check: Check
) -> None:
    auth, _ = oauth_mail
    auth.revoke_grant()  # the owner removed the app's access to the mailbox
    code, lines = check(shop)
    assert lines[0].startswith(
        f"FAIL support-mail IMAP: the sign-in for {SUPPORT_USER} has expired or was revoked ("
    )
    assert lines[0].endswith(
        f"run `responder login -c {tmp_path / 'config.yaml'} support-mail` again"
    )
    assert code == EX_FAILURE


def test_oauth2_token_of_another_mailbox_is_refused_with_the_account_to_use(
    tmp_path: Path, shop: dict[str, Any], oauth_mail: tuple[OAuthStandIn, Dovecot], check: Check
) -> None:
    # Signed in as support@ at the provider, but imap.username names another mailbox.
    email(shop, "imap")["username"] = "staff@toko-contoh.id"
    code, lines = check(shop)
    assert lines[0].startswith(
        "FAIL support-mail IMAP: 127.0.0.1 refused the OAuth2 sign-in for staff@toko-contoh.id ("
    )
    assert lines[0].endswith(
        f"run `responder login -c {tmp_path / 'config.yaml'} support-mail` again, signing in "
        "as staff@toko-contoh.id"
    )
    assert code == EX_FAILURE


def test_missing_secret_is_a_config_error_with_connect(
    tmp_path: Path, shop: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    secret(shop, "smtp").unlink()
    path = save(tmp_path, shop)
    assert main(["check", "-c", str(path)]) == EX_OK  # a warning only, without --connect
    assert main(["check", "-c", str(path), "--connect"]) == EX_CONFIG
    assert "smtp-password" in capsys.readouterr().err
