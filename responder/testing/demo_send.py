"""`responder demo send`: a new customer mail for a running demo, and the command to send it."""

from __future__ import annotations

import imaplib
import shlex
import shutil
import sys
from pathlib import Path

from responder.errors import ResponderError
from responder.testing.demo_samples import mail

DEFAULT_SENDER = "Dewi Lestari <dewi@example.com>"
EXAMPLE_SUBJECT = "Apakah kemeja batik ukuran XL masih ada?"
EXAMPLE_BODY = "Halo, saya mau pesan 3 kemeja batik ukuran XL. Stoknya masih ada? Terima kasih."


class DemoError(ResponderError):
    """The demo cannot start, or there is no running demo to send to; says what to do."""


def responder_command() -> list[str]:
    """How to start this same installation of responder from a shell, as an argv prefix."""
    # A venv that is not activated is not on PATH: `scripts/dev demo` runs .venv/bin/responder.
    for script in (Path(sys.argv[0]), Path(sys.executable).parent / "responder"):
        if script.name == "responder" and script.is_file():
            on_path = shutil.which("responder")
            if on_path is not None and Path(on_path).resolve() == script.resolve():
                return ["responder"]
            return [str(script.absolute())]
    return [sys.executable, "-m", "responder.cli"]


def send_command(directory: Path) -> str:
    """The exact shell command that sends the demo running in `directory` a new customer mail."""
    argv = ["demo", "send", "--dir", str(directory), EXAMPLE_SUBJECT, EXAMPLE_BODY]
    return shlex.join([*responder_command(), *argv])


def send(directory: Path, subject: str, body: str, sender: str | None = None) -> int:
    """Put a customer's mail in the demo's mailbox with IMAP APPEND, as a mail server would."""
    from responder.config import EmailChannelConfig, load_config

    start = shlex.join([*responder_command(), "demo", "--serve", "--dir", str(directory)])
    config_path = directory / "config.yaml"
    if not config_path.is_file():
        raise DemoError(f"no demo in {directory} (it has no config.yaml). Start one with: {start}")
    channels = load_config(config_path).channels
    channel = next(c for c in channels if isinstance(c, EmailChannelConfig))
    imap = channel.imap
    msg = mail(sender or DEFAULT_SENDER, subject, body)[1]
    try:
        conn = imaplib.IMAP4(imap.host, imap.port, timeout=10)
    except OSError:
        raise DemoError(
            f"the demo in {directory} is not running (nothing answers on {imap.host}:{imap.port})."
            f" Start it with: {start}"
        ) from None
    try:
        conn.login(imap.username, imap.password.get_secret_value() if imap.password else "")
        typ, data = conn.append(imap.folder, None, None, msg.as_bytes())
    except (OSError, imaplib.IMAP4.error) as exc:
        raise DemoError(f"the demo's mail server refused the mail: {exc}") from None
    finally:
        conn.logout()  # never raises: it closes the socket whatever the server says
    if typ != "OK":
        raise DemoError(f"the demo's mail server refused the mail: {data!r}")
    print(f"delivered to {channel.address}: {msg['From']}  {subject}")
    print("responder's answer appears in the demo's window within a few seconds.")
    return 0
