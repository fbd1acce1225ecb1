"""The files a development Dovecot starts from (homes, passwd, dovecot.conf), as root or not."""

from __future__ import annotations

import grp
import os
import pwd
from pathlib import Path

from responder.testing.dovecot_conf import render_config, render_oauth2
from responder.testing.mailbox import DovecotError

_CHROOTED = ("aggregator", "anvil", "imap-login", "imap-urlauth-login", "ipc", "old-stats")


def write_config(
    *,
    conf_path: Path,
    base_dir: Path,
    mail_root: Path,
    run_dir: Path,
    log_path: Path,
    port: int,
    users: dict[str, str],
    oauth2_introspection: str | None,
    sent_folder: str | None,
    lmtp_port: int | None,
) -> None:
    """Create every user's home and write passwd, the oauth2 args file and dovecot.conf."""
    as_root = os.geteuid() == 0
    me = pwd.getpwuid(os.geteuid())
    my_group = grp.getgrgid(os.getegid()).gr_name
    if as_root:
        mail_uid, mail_gid = _nobody()
        login_user = _first_user("dovenull", "nobody")
        home = "/%u"  # relative to mail_chroot
        extra = f"mail_chroot = {mail_root}\n"
        if lmtp_port is not None:
            # LMTP delivers as the mail user without the chroot: it must pass through.
            for folder in (base_dir, mail_root):
                folder.chmod(folder.stat().st_mode | 0o111)
    else:
        mail_uid, mail_gid = os.geteuid(), os.getegid()
        login_user = me.pw_name
        home = f"{mail_root}/%u"
        # Only root may chroot, and these services do by default.
        extra = "".join(f"service {name} {{\n  chroot =\n}}\n" for name in _CHROOTED)
    # Homes must exist before the first login, or Dovecot logs a chdir() error.
    for user in users:
        (mail_root / user).mkdir(exist_ok=True)
        if as_root:
            os.chown(mail_root / user, mail_uid, mail_gid)
    passwd = base_dir / "passwd"
    passwd.write_text("".join(f"{u}:{{PLAIN}}{p}::::::\n" for u, p in users.items()))
    passwd.chmod(0o600)
    oauth2 = None
    if oauth2_introspection is not None:
        oauth2 = base_dir / "dovecot-oauth2.conf.ext"
        oauth2.write_text(render_oauth2(oauth2_introspection))
    conf_path.write_text(
        render_config(
            run_dir=run_dir,
            base_dir=base_dir,
            log_path=log_path,
            port=port,
            login_user=login_user,
            internal_user=me.pw_name,
            internal_group=my_group,
            extra=extra,
            passwd=passwd,
            mail_uid=mail_uid,
            mail_gid=mail_gid,
            home=home,
            oauth2=oauth2,
            sent_folder=sent_folder,
            lmtp_port=lmtp_port,
        )
    )


def _nobody() -> tuple[int, int]:
    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        return 65534, 65534
    return entry.pw_uid, entry.pw_gid


def _first_user(*names: str) -> str:
    for name in names:
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise DovecotError(f"none of the users {names} exists to run Dovecot's login processes")
