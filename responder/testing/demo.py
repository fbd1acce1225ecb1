"""The self-contained demo: a local Dovecot and SMTP server, sample mail, and what was sent."""

from __future__ import annotations

import asyncio
import logging
import shlex
import shutil
import signal
import sys
import tempfile
import textwrap
from pathlib import Path

from responder.app.daemon import App
from responder.config import load_config
from responder.testing import Dovecot, DovecotError, Received, RecordingSMTPServer
from responder.testing.demo_samples import ADDRESS, PASSWORD, samples
from responder.testing.demo_send import DemoError, responder_command, send_command

_STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)

CONFIG = """\
timezone: Asia/Jakarta
state_dir: {state}
channels:
  - name: support-mail
    type: email
    address: {address}
    display_name: Toko Contoh
    language: id
    imap: {{host: 127.0.0.1, port: {imap_port}, security: none, username: {address},
           password_file: {state}/imap-password, folder: INBOX}}
    smtp: {{host: 127.0.0.1, port: {smtp_port}, security: none}}
"""


async def run_demo(directory: Path | None, *, serve: bool = False) -> int:
    """Run the demo in `directory`, kept afterwards, or else in a temporary folder it removes."""
    # The recording SMTP server's own chatter would drown what the demo is there to show.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    base = await asyncio.to_thread(_folder, directory)
    if directory is not None:
        status = shlex.join([*responder_command(), "status", "-c", str(base / "config.yaml")])
        note = f"The demo's files are kept in {base}. See what it recorded with:\n  {status}"
        fate = "kept after the demo ends"
    else:
        again = shlex.join([*responder_command(), "demo", "--dir", "demo-state"])
        note = f"The demo's files in {base} were removed. To keep them, run it with:\n  {again}"
        fate = "removed when the demo ends; --dir DIR keeps them"
    # Dovecot runs in a session of its own, so `kill` or a closed terminal would otherwise leave
    # it running: both stop the demo as Ctrl-C does.
    task, signalled = asyncio.current_task(), []

    def stop(signum: int) -> None:
        signalled.append(signum)
        if task is not None:
            task.cancel()

    loop = asyncio.get_running_loop()
    for signum in _STOP_SIGNALS:
        loop.add_signal_handler(signum, stop, signum)
    ran = False  # the note is for a demo that ran (Ctrl-C included), not for one that failed
    try:
        await _run(base, serve, fate)
        ran = True
    except (asyncio.CancelledError, KeyboardInterrupt):
        ran = True
        if not signalled:
            raise
    finally:
        for signum in _STOP_SIGNALS:
            loop.remove_signal_handler(signum)
        if directory is None:
            await asyncio.to_thread(shutil.rmtree, base, ignore_errors=True)
        if ran:
            print(f"\n{note}", flush=True)
    return 0


def _folder(directory: Path | None) -> Path:
    if directory is None:
        return Path(tempfile.mkdtemp(prefix="responder-demo-")).resolve()
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DemoError(f"cannot create the demo's folder {directory}: {exc.strerror}") from None
    return directory.resolve()


def _write_config(base: Path, imap_port: int, smtp_port: int) -> Path:
    state = base / "state"
    state.mkdir(exist_ok=True)
    (state / "imap-password").write_text(PASSWORD + "\n")
    path = base / "config.yaml"
    path.write_text(
        CONFIG.format(state=state, address=ADDRESS, imap_port=imap_port, smtp_port=smtp_port)
    )
    return path


async def _run(base: Path, serve: bool, fate: str) -> None:
    try:
        dovecot = Dovecot(base / "dovecot", {ADDRESS: PASSWORD})
        await asyncio.to_thread(dovecot.start)
    except DovecotError as exc:
        raise DemoError(f"the demo's local IMAP server (Dovecot) did not start: {exc}") from None
    smtp = RecordingSMTPServer()
    try:
        await asyncio.to_thread(smtp.start)
        config_path = await asyncio.to_thread(_write_config, base, dovecot.port, smtp.port)
        print(
            f"\nlocal Dovecot IMAP on 127.0.0.1:{dovecot.port}, "
            f"SMTP recorder on 127.0.0.1:{smtp.port}\n"
            f"the demo's files: {base} (config.yaml, database state/responder.db), {fate}\n"
        )
        app = App(await asyncio.to_thread(load_config, config_path))
        await app.start()
        try:
            await _show(app, dovecot, smtp, serve, base)
        finally:
            await app.stop()
    finally:
        await asyncio.to_thread(smtp.stop)
        await asyncio.to_thread(dovecot.stop)


async def _show(
    app: App, dovecot: Dovecot, smtp: RecordingSMTPServer, serve: bool, base: Path
) -> None:
    # A kept --dir may hold earlier runs: show only what this one brings.
    after = max((row["id"] for row in await app.store.rows("inbound")), default=0)
    mails = samples()
    await asyncio.sleep(0.5)  # let IDLE start, so the samples arrive as live mail
    for sender, msg in mails:
        await dovecot.append_async(ADDRESS, msg.as_bytes())
        print(f"  -> delivered to INBOX: {sender:<52} {msg['Subject']}")
    await smtp.wait_for_async(2, timeout=20)
    await _settled(app, after, len(mails))
    print("\n=== what responder sent ===")
    for received in smtp.received:
        _print_mail(received)
    print("\n=== what responder decided not to answer ===")
    for _, line in await _silences(app, after):
        print(line)
    if serve:
        await _serve(app, smtp, base)


async def _serve(app: App, smtp: RecordingSMTPServer, base: Path) -> None:
    print(
        "\nresponder keeps running. To send it a new customer mail, paste this into another"
        f" terminal:\n\n  {send_command(base)}\n\nIts answer appears here. Ctrl-C stops the demo.",
        flush=True,
    )
    shown = len(smtp.received)
    after = max((row["id"] for row in await app.store.rows("inbound")), default=0)
    told: set[int] = set()
    while True:
        await asyncio.sleep(0.2)
        received = list(smtp.received)
        for mail in received[shown:]:
            print("\n=== responder answered a new mail ===")
            _print_mail(mail)
        shown = len(received)
        for inbound_id, line in await _silences(app, after):
            if inbound_id not in told:
                told.add(inbound_id)
                print(f"\n=== responder did not answer a new mail ===\n{line}")
        sys.stdout.flush()


def _print_mail(received: Received) -> None:
    msg = received.message
    body = msg.get_body(preferencelist=("plain",))
    text = body.get_content() if body is not None else ""
    print(f"\nMAIL FROM:<{received.envelope_from}>  RCPT TO:{', '.join(received.rcpt_tos)}")
    for name in ("From", "To", "Subject", "In-Reply-To", "Auto-Submitted"):
        print(f"  {name}: {msg[name]}")
    print(textwrap.indent(text.strip(), "  | ", lambda _line: True))


async def _silences(app: App, after: int) -> list[tuple[int, str]]:
    """(inbound id, line) for each mail after `after` that responder chose not to answer."""
    lines = [
        (row["inbound_id"], f"  {row['sender'] or '?':<40} {row['rule']:<18} {row['reason']}")
        for row in await app.store.rows("suppressions")
        if row["inbound_id"] > after
    ]
    lines += [
        (row["id"], f"  {row['sender']:<40} {'follow-up':<18} joined its ticket; no second reply")
        for row in await app.store.rows("inbound", outcome="follow-up")
        if row["id"] > after
    ]
    return lines


async def _settled(app: App, after: int, expected: int, timeout: float = 20.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while asyncio.get_running_loop().time() < deadline:
        rows = [r for r in await app.store.rows("inbound") if r["id"] > after]
        mine = {r["id"] for r in rows}
        sent = [r for r in await app.store.rows("replies", state="sent") if r["inbound_id"] in mine]
        replied = [r for r in rows if r["outcome"] == "replied"]
        if (
            len(rows) >= expected
            and all(r["state"] == "done" for r in rows)
            and len(sent) == len(replied)
        ):
            return
        await asyncio.sleep(0.1)
