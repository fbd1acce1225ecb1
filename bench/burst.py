"""A burst of mail as a mail server hands it to Dovecot: N messages over K LMTP connections at
once, each message timed from just before its LMTP transaction."""

from __future__ import annotations

import smtplib
import threading
import time
from collections.abc import Sequence

from responder.testing import Dovecot

LMTP_TIMEOUT = 30.0


class BurstError(RuntimeError):
    """Dovecot refused a delivery, or a connection broke."""


def deliver(
    dovecot: Dovecot, user: str, mails: Sequence[tuple[str, bytes]], connections: int
) -> dict[str, float]:
    """Deliver (sender, raw) pairs to `user` over `connections` LMTP sessions in parallel, as
    fast as Dovecot takes them; returns time.monotonic() just before each message's MAIL
    FROM, by sender. The sessions are open (LHLO done) before the first message goes."""
    port = dovecot.lmtp_port
    if port is None:
        raise BurstError("Dovecot was started without LMTP")
    shares = [mails[k::connections] for k in range(connections)]
    sessions = [smtplib.LMTP(dovecot.host, port, timeout=LMTP_TIMEOUT) for _ in shares]
    for session in sessions:
        session.ehlo_or_helo_if_needed()
    started: dict[str, float] = {}
    failures: list[BaseException] = []
    go = threading.Barrier(len(shares))

    def run(session: smtplib.LMTP, share: Sequence[tuple[str, bytes]]) -> None:
        try:
            go.wait()
            for sender, raw in share:
                started[sender] = time.monotonic()
                refused = session.sendmail(sender, [user], raw)
                if refused:
                    raise BurstError(f"LMTP refused {sender}: {refused}")
        except BaseException as exc:
            failures.append(exc)

    threads = [
        threading.Thread(target=run, args=pair, daemon=True)
        for pair in zip(sessions, shares, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for session in sessions:
        try:
            session.quit()
        except (OSError, smtplib.SMTPException):
            session.close()
    if failures:
        raise BurstError(f"LMTP delivery failed: {failures[0]!r}")
    return started
