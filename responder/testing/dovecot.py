"""A real, throwaway Dovecot IMAP server living entirely in one temporary directory."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path

from responder.channels.email.imap_folders import imap_utf7
from responder.testing._net import free_port
from responder.testing.dovecot_conf import HOST
from responder.testing.dovecot_files import write_config
from responder.testing.dovecot_process import find_dovecot, make_run_dir, shut_down
from responder.testing.mailbox import DovecotError, MailboxHelpers

START_TIMEOUT = 10.0

_UNSAFE_PATH = re.compile(r'[\s%"#:\\]')


class Dovecot(MailboxHelpers):
    """A Dovecot IMAP server on 127.0.0.1 whose config, state, logs and mail sit in base_dir.

    Runs both as root (CI) and as an ordinary user. Dovecot refuses to serve mail as
    root, so under root the mail processes run as `nobody` inside a chroot of the mail
    directory: that keeps them working even when base_dir's parents are private to root.
    """

    def __init__(
        self,
        base_dir: Path,
        users: Mapping[str, str],
        *,
        oauth2_introspection: str | None = None,
        sent_folder: str | None = "Sent",
        lmtp: bool = False,
    ) -> None:
        """`oauth2_introspection`: also take XOAUTH2/OAUTHBEARER sign-ins, each bearer token
        checked at this RFC 7662 URL (Dovecot's oauth2 passdb); passwords keep working.
        `sent_folder`: the folder LIST marks \\Sent (RFC 6154) once it is created, as a
        localised Gmail's "[Gmail]/Terkirim"; None marks no folder, as servers without
        SPECIAL-USE do. `lmtp`: also take mail over LMTP on `lmtp_port` (needs dovecot-lmtpd;
        under root the folders above base_dir must let others through)."""
        self.base_dir = Path(base_dir).resolve()
        self.oauth2_introspection = oauth2_introspection
        self.sent_folder = sent_folder
        if _UNSAFE_PATH.search(str(self.base_dir)):
            raise DovecotError(f"base_dir must not contain spaces, %, quotes, # or : : {base_dir}")
        if sent_folder is not None and any(c in sent_folder for c in '"\\\r\n'):
            raise DovecotError(f"unsupported sent_folder {sent_folder!r}")
        for user, password in users.items():
            if (
                not user
                or _UNSAFE_PATH.search(user)
                or "/" in user
                or any(c in password for c in ":\r\n")
            ):
                raise DovecotError(f"unsupported username or password for {user!r}")
        # Dovecot lowercases login names (auth_username_format = %Lu) before any lookup.
        self.users: dict[str, str] = {u.lower(): p for u, p in users.items()}
        self.conf_path = self.base_dir / "dovecot.conf"
        self.log_path = self.base_dir / "dovecot.log"
        self.mail_root = self.base_dir / "mail"
        self._stderr_path = self.base_dir / "dovecot.stderr"
        self._binary = find_dovecot()
        self._port: int | None = None
        self.lmtp_port: int | None = free_port(HOST) if lmtp else None
        self._proc: subprocess.Popen[bytes] | None = None
        self._run_dir: Path | None = None
        self._run_dir_is_temp = False

    # -- lifecycle ----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Write the config, launch `dovecot -F` and wait for the IMAP greeting."""
        if self.running:
            raise DovecotError("Dovecot is already running")
        if self._port is None:
            self._port = free_port(HOST)
        for sub in ("state", "mail"):
            (self.base_dir / sub).mkdir(parents=True, exist_ok=True)
        self._run_dir, self._run_dir_is_temp = make_run_dir(self.base_dir)
        self._write_config()
        with open(self._stderr_path, "ab") as stderr:
            # Own session so a stuck master and its children can be killed as one group.
            self._proc = subprocess.Popen(
                [self._binary, "-F", "-c", str(self.conf_path)],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                start_new_session=True,
            )
        try:
            self._wait_for_greeting()
        except BaseException:
            self.stop()
            raise

    def stop(self, kill: bool = False) -> None:
        """Stop the server; safe to call twice or before start().

        By default Dovecot shuts down in order (clients get "* BYE Server shutting
        down."); kill=True SIGKILLs every Dovecot process at once, like a crash.
        """
        proc, self._proc = self._proc, None
        if proc is not None:
            if not kill and proc.poll() is None:
                shut_down(proc)
            # Always: mail processes outlive a master that exits on its own.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        if self._run_dir is not None:
            # A stale pid file could name a recycled pid and make the next start refuse.
            (self._run_dir / "master.pid").unlink(missing_ok=True)
            if self._run_dir_is_temp:
                shutil.rmtree(self._run_dir, ignore_errors=True)
        self._run_dir = None

    def restart(self, kill: bool = False) -> None:
        """Stop (see stop()) and start again on the same port with the same mail."""
        self.stop(kill=kill)
        self.start()

    def kick(self, user: str) -> None:
        """Drop every connection of `user` (`doveadm kick`), as a server does when a session
        ends under a client: an expired token, an admin's action."""
        self._doveadm("kick", user.lower())

    def set_uidvalidity(self, user: str, folder: str, value: int) -> None:
        """Give `folder` this UIDVALIDITY (`doveadm mailbox update`). Dovecot gives each
        folder of a user its own, but RFC 3501 2.3.1.1 asks that only per name: another
        server may give two folders the same one."""
        self._doveadm("mailbox", "update", "-u", user.lower(), "--uid-validity", str(value), folder)

    def _doveadm(self, *args: str) -> None:
        doveadm = shutil.which("doveadm") or "/usr/bin/doveadm"
        subprocess.run(
            [doveadm, "-c", str(self.conf_path), *args], check=True, capture_output=True, timeout=10
        )

    def log_tail(self, lines: int = 40) -> str:
        chunks = []
        for path in (self._stderr_path, self.log_path):
            with contextlib.suppress(OSError):
                chunks.extend(path.read_text(errors="replace").splitlines()[-lines:])
        return "\n".join(chunks)

    def _wait_for_greeting(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        last_error = "no answer"
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                last_error = f"dovecot exited with status {self._proc.returncode}"
                break
            try:
                with socket.create_connection((HOST, self.port), timeout=1.0) as sock:
                    greeting = sock.recv(512)
                if greeting.startswith(b"* OK"):
                    return
                last_error = f"unexpected greeting {greeting!r}"
            except OSError as exc:
                last_error = str(exc)
            time.sleep(0.02)
        raise DovecotError(
            f"Dovecot did not greet on {HOST}:{self.port} ({last_error}); log tail:\n"
            + self.log_tail()
        )

    # -- configuration ------------------------------------------------------------------

    def _write_config(self) -> None:
        assert self._run_dir is not None
        write_config(
            conf_path=self.conf_path,
            base_dir=self.base_dir,
            mail_root=self.mail_root,
            run_dir=self._run_dir,
            log_path=self.log_path,
            port=self.port,
            users=self.users,
            oauth2_introspection=self.oauth2_introspection,
            sent_folder=self.sent_folder,
            lmtp_port=self.lmtp_port,
        )

    def folder_path(self, user: str, folder: str = "INBOX") -> Path:
        """The maildir holding `folder` (Maildir++ layout: subfolders are dot-prefixed)."""
        root = self.mail_root / user.lower() / "Maildir"
        if folder.upper() == "INBOX":
            return root
        return root / ("." + imap_utf7(folder).replace("/", "."))

    def reset_uidvalidity(self, user: str, folder: str = "INBOX") -> int:
        """Make Dovecot assign `folder` a new UIDVALIDITY (and renumber its messages).

        Dovecot is restarted (if running) around dropping the folder's UID list and
        indexes, which is how a real server loses its UID map; connected clients see the
        restart too. Messages and their flags survive. Returns the new UIDVALIDITY.
        """
        was_running = self.running
        self.stop()
        maildir = self.folder_path(user, folder)
        uidlist = maildir / "dovecot-uidlist"
        if not uidlist.is_file():
            raise DovecotError(f"no UID list for {folder!r} of {user!r} at {maildir}")
        # Header line: "<version> V<uidvalidity> N<next uid> ..."
        before = int(uidlist.read_text().split()[1][1:])
        doomed = [uidlist, *maildir.glob("dovecot.index*")]
        # The list index caches each folder's STATUS, old UIDVALIDITY included.
        doomed += (self.mail_root / user.lower() / "Maildir").glob("dovecot.list.index*")
        for path in doomed:
            path.unlink(missing_ok=True)
        self.start()
        after = self.uidvalidity(user, folder)
        if not was_running:
            self.stop()
        if after == before:
            raise DovecotError(f"UIDVALIDITY of {folder!r} stayed {after}")
        return after
