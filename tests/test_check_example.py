"""The shipped example as a new admin meets it: `check` passes with warnings about the secret
files it names, and `run` refuses it until they exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from responder.cli import EX_CONFIG, main
from responder.config import load_config, load_config_text
from responder.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.yaml"
WARNING = re.compile(r"warning: (?P<file>[^:]+):(?P<line>\d+):\d+: (?P<key>\S+): (?P<message>.*)")

BASE = """\
state_dir: state
channels:
  - name: support-mail
    type: email
    address: support@example.com
    imap: {host: 127.0.0.1, port: 1143, security: none, username: u, password_file: imap.pw}
    smtp: {host: 127.0.0.1, port: 1025, security: none, username: u, password_env: SMTP_PW}
  - name: shop-bot
    type: telegram
    token_file: telegram.token
http:
  secret_file: survey.key
"""


@pytest.fixture(autouse=True)
def outside_the_service(monkeypatch: pytest.MonkeyPatch) -> None:
    # As an admin's shell: systemd has handed over no credentials.
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)


def test_check_passes_the_shipped_example_with_a_warning_per_secret_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["check", "-c", str(EXAMPLE)]) == 0
    out, err = capsys.readouterr()
    assert "OK (" in out and "warning(s): fix them before starting the service" in out
    warnings = [WARNING.fullmatch(line) for line in err.splitlines()]
    assert warnings and all(warnings), err
    lines = EXAMPLE.read_text().splitlines()
    keys = set()
    for found in warnings:
        assert found is not None
        key = found["key"].rpartition(".")[2]
        keys.add(key)
        # file:line points at the key itself, as the admin wrote it.
        assert found["file"] == str(EXAMPLE)
        assert lines[int(found["line"]) - 1].lstrip().startswith(f"{key}:")
        # It names the file (or variable) and the alternative.
        secret, _, kind = key.rpartition("_")
        if kind == "file":
            assert "cannot read /" in found["message"]
            assert f"or use {secret}_env: NAME instead" in found["message"]
        else:
            assert "environment variable" in found["message"]
            assert f"or use {secret}_file: PATH instead" in found["message"]
    assert {"password_file", "token_file"} <= keys
    assert "/run/credentials/responder.service/imap" in err or "/secrets/imap" in err


def test_run_refuses_the_shipped_example_with_the_same_problems_as_errors(
    capsys: pytest.CaptureFixture[str],
) -> None:
    warnings = load_config(EXAMPLE, secrets="warn").warnings
    with pytest.raises(ConfigError) as info:
        load_config(EXAMPLE)  # run's strictness is the default
    assert info.value.problems == list(warnings)
    assert main(["run", "-c", str(EXAMPLE)]) == EX_CONFIG
    err = capsys.readouterr().err
    assert all(str(problem) in err for problem in warnings)


def test_every_kind_of_secret_is_a_warning_at_check_and_an_error_at_run(tmp_path: Path) -> None:
    config = load_config_text(BASE, "config.yaml", tmp_path, environ={}, secrets="warn")
    mail, bot = config.channels
    assert mail.imap.password is None and mail.smtp.password is None  # type: ignore[union-attr]
    assert bot.token is None  # type: ignore[union-attr]
    assert config.http is not None and config.http.secret is None
    shown = [str(w) for w in config.warnings]
    assert shown == [
        "config.yaml:6:85: channels[0].imap.password_file: cannot read "
        f"{tmp_path}/imap.pw: no such file; create it with the password on one line, or use "
        "password_env: NAME instead (an environment variable holding it)",
        'config.yaml:7:84: channels[0].smtp.password_env: environment variable "SMTP_PW" is '
        "not set; set it to the password where responder runs (Environment= in the systemd "
        "unit), or use password_file: PATH instead",
        f"config.yaml:10:17: channels[1].token_file: cannot read {tmp_path}/telegram.token: "
        "no such file; create it with the bot token BotFather gave you on one line, or use "
        "token_env: NAME instead (an environment variable holding it)",
        f"config.yaml:12:16: http.secret_file: cannot read {tmp_path}/survey.key: no such "
        "file; create it with a long random text on one line, or use secret_env: NAME "
        "instead (an environment variable holding it)",
    ]
    with pytest.raises(ConfigError) as info:
        load_config_text(BASE, "config.yaml", tmp_path, environ={})
    assert [str(p) for p in info.value.problems] == shown


def test_secrets_that_are_there_are_read_and_checked_in_warn_mode(tmp_path: Path) -> None:
    (tmp_path / "imap.pw").write_text("pw\n")
    (tmp_path / "telegram.token").write_text("not-a-token\n")
    (tmp_path / "survey.key").write_text("\n")
    with pytest.raises(ConfigError) as info:
        load_config_text(BASE, "config.yaml", tmp_path, environ={"SMTP_PW": "x"}, secrets="warn")
    # A token that is there but wrong is an error even at check: it will never work.
    assert [str(p) for p in info.value.problems] == [
        "config.yaml:10:17: channels[1].token_file: "
        "this is not a bot token as BotFather gives it (digits:letters)"
    ]
    (tmp_path / "telegram.token").write_text("123456:ABCdefGHIjklMNOpqrSTUvwxYZ\n")
    config = load_config_text(
        BASE, "config.yaml", tmp_path, environ={"SMTP_PW": "x"}, secrets="warn"
    )
    assert config.channels[0].imap.password is not None  # type: ignore[union-attr]
    assert [w.path for w in config.warnings] == ["http.secret_file"]
    assert "survey.key is empty; put a long random text in it" in str(config.warnings[0])


def test_skip_reads_no_secret_but_still_checks_how_they_are_named(tmp_path: Path) -> None:
    config = load_config_text(BASE, "config.yaml", tmp_path, environ={}, secrets="skip")
    assert config.warnings == ()
    assert config.channels[0].imap.password_missing  # type: ignore[union-attr]
    both = BASE.replace("password_file: imap.pw", "password_file: imap.pw, password_env: X")
    with pytest.raises(ConfigError, match="give password_file or password_env, not both"):
        load_config_text(both, "config.yaml", tmp_path, environ={}, secrets="skip")


def test_check_with_a_secret_given_is_quiet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SMTP_PW", "x")
    for name, value in (
        ("imap.pw", "pw"),
        ("telegram.token", "1:" + "a" * 30),
        ("survey.key", "k"),
    ):
        (tmp_path / name).write_text(value)
    path = tmp_path / "config.yaml"
    path.write_text(BASE)
    assert main(["check", "-c", str(path)]) == 0
    out, err = capsys.readouterr()
    database = f"database: SQLite, {tmp_path / 'state' / 'responder.db'}"
    assert (out, err) == (f"{path}: OK (2 channel(s); {database})\n", "")
