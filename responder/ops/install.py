"""`responder install-service`: the systemd unit and a first config put in place, once."""

from __future__ import annotations

import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from responder.errors import ResponderError

UNIT_NAME = "responder.service"


class InstallError(ResponderError):
    """The service could not be put in place (a file exists, a folder is not writable)."""


def shipped(name: str) -> Path:
    """A file that ships with responder: in the wheel, or beside the source tree."""
    package = Path(__file__).resolve().parents[1]  # responder/
    packaged = package / "_shipped" / name
    if packaged.exists():
        return packaged
    return package.parent / name


@dataclass
class Installed:
    unit: Path
    config: Path
    config_created: bool
    secrets: Path
    executable: Path
    notes: list[str] = field(default_factory=list)


def render_unit(template: str, executable: Path, config: Path) -> str:
    """The shipped unit with ExecStart pointing at this installation and this config."""
    exec_start = f"ExecStart={executable} run -c {config}"
    rendered, count = re.subn(r"(?m)^ExecStart=.*$", exec_start, template)
    if count != 1:
        raise InstallError("the shipped unit has no single ExecStart= line")
    return rendered


def install(
    root: Path = Path("/"),
    config: Path = Path("/etc/responder/config.yaml"),
    *,
    executable: Path | None = None,
    force: bool = False,
) -> Installed:
    """Write the unit to <root>/etc/systemd/system, and the example config (if there is none
    yet) with a private secrets folder beside it. Never overwrites an admin's config; the
    unit only with `force`."""
    exe = executable or Path(sys.argv[0]).absolute()
    unit_path = root / "etc/systemd/system" / UNIT_NAME
    if unit_path.exists() and not force:
        raise InstallError(f"{unit_path} exists; use --force to replace it")
    template = shipped("systemd/responder.service").read_text(encoding="utf-8")
    config_path = root / config.relative_to("/") if config.is_absolute() else root / config
    secrets = config_path.parent / "secrets"
    try:
        unit_path.parent.mkdir(parents=True, exist_ok=True)
        unit_path.write_text(render_unit(template, exe, config), encoding="utf-8")
        unit_path.chmod(0o644)
        created = not config_path.exists()
        if created:
            config_path.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shipped("config.example.yaml"), config_path)
            # Readable by the service's made-up user (DynamicUser): secrets are never in it.
            config_path.chmod(0o644)
        secrets.mkdir(mode=0o700, parents=True, exist_ok=True)
        secrets.chmod(0o700)
    except OSError as exc:
        raise InstallError(f"cannot write {exc.filename}: {exc.strerror}") from None
    result = Installed(unit_path, config_path, created, secrets, exe)
    if os.geteuid() != 0 and root == Path("/"):
        result.notes.append("not run as root: the files may not be where systemd looks")
    return result


def next_steps(done: Installed, config: Path) -> str:
    """What the admin does next, in order, as commands to copy."""
    lines = [f"Installed {done.unit}"]
    if done.config_created:
        lines.append(f"Created {done.config} from the example: edit it before starting.")
    else:
        lines.append(f"Kept your {done.config}.")
    lines += [f"note: {n}" for n in done.notes]
    secrets = done.secrets
    lines += [
        "",
        "Next:",
        f"  1. edit {config}: your mailboxes (provider: gmail, google-workspace,",
        "     microsoft365, cpanel: see the README, Connect your mailbox), bot, hours, rules",
        f"  2. put each secret in its own file under {secrets} (mode 600), e.g.",
        f"       install -m 600 /dev/null {secrets}/imap && nano {secrets}/imap",
        "     the unit hands them to the service as credentials (LoadCredential=); remove",
        f"     the LoadCredential= line of any you do not use from {done.unit}",
        "     (a Google Workspace or Microsoft 365 mailbox signs in once instead, with",
        "     `responder login` and the channel's name: see the README)",
        f"  3. check it:   {done.executable} check -c {config}",
        f"     and sign in: {done.executable} check --connect -c {config}",
        "  4. start it:   systemctl daemon-reload && systemctl enable --now responder",
        "  5. watch it:   journalctl -u responder -f      (and: systemctl status responder)",
    ]
    return "\n".join(lines)
