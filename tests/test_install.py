"""`responder install-service`, into a throwaway root: the unit points at this installation,
a first config and a private secrets folder appear, and nothing of the admin's is overwritten."""

from __future__ import annotations

import stat
import subprocess
import sys
from pathlib import Path

import pytest

from responder.cli import main
from responder.ops.install import InstallError, install

CONFIG = Path("/etc/responder/config.yaml")


def test_install_writes_the_unit_the_config_and_a_private_secrets_folder(tmp_path: Path) -> None:
    exe = Path("/opt/responder/venv/bin/responder")
    done = install(tmp_path, CONFIG, executable=exe)
    unit = (tmp_path / "etc/systemd/system/responder.service").read_text()
    assert f"ExecStart={exe} run -c {CONFIG}\n" in unit
    assert "Type=notify" in unit and "RestartPreventExitStatus=78" in unit
    config = tmp_path / "etc/responder/config.yaml"
    assert done.config_created and config.read_text().startswith("#")
    assert "channels:" in config.read_text()
    secrets = tmp_path / "etc/responder/secrets"
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o700
    # The service's dynamic user must read it; the secrets live elsewhere.
    assert stat.S_IMODE(config.stat().st_mode) == 0o644


def test_install_keeps_the_admins_config_and_refuses_to_replace_the_unit(tmp_path: Path) -> None:
    config = tmp_path / "etc/responder/config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text("timezone: Asia/Jakarta\n")
    done = install(tmp_path, CONFIG, executable=Path("/usr/bin/responder"))
    assert not done.config_created and config.read_text() == "timezone: Asia/Jakarta\n"
    with pytest.raises(InstallError, match="exists; use --force"):
        install(tmp_path, CONFIG, executable=Path("/usr/bin/responder"))
    again = install(tmp_path, CONFIG, executable=Path("/srv/venv/bin/responder"), force=True)
    assert "ExecStart=/srv/venv/bin/responder run" in again.unit.read_text()
    assert config.read_text() == "timezone: Asia/Jakarta\n"


def test_the_command_prints_the_next_steps(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["install-service", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "systemctl enable --now responder" in out and "journalctl -u responder" in out
    assert f"{Path(sys.argv[0]).absolute()} check -c {CONFIG}" in out  # this installation
    assert f"{Path(sys.argv[0]).absolute()} check --connect -c {CONFIG}" in out
    assert main(["install-service", "--root", str(tmp_path)]) == 1
    assert "--force" in capsys.readouterr().err


def test_the_installed_unit_keeps_its_hardening(tmp_path: Path) -> None:
    install(tmp_path, CONFIG, executable=Path(sys.executable))
    unit = tmp_path / "etc/systemd/system/responder.service"
    found = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    line = next(x for x in found.stdout.splitlines() if "Overall exposure level" in x)
    assert float(line.split(":")[1].split()[0]) <= 1.5, line
