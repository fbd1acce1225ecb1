"""End to end through real Dovecot and SMTP: machine mail known by what it is, not its envelope."""

from __future__ import annotations

from pathlib import Path

from harness import (
    SUPPORT,
    all_decided,
    all_sent,
    db_rows,
    running,
    wait_connected,
    wait_until,
    write_config,
)
from mailfactory import make_mail

from responder.testing import Dovecot, RecordingSMTPServer
from responder.wire.email.parse import parse_message

MACHINE = Path(__file__).parent / "corpus" / "machine"
# Each arrives with a real envelope sender (none has Return-Path: <>), no Auto-Submitted and
# no multipart/report: a list manager's loop alert, an iCloud vacation reply, and an SMS
# gateway's plain-text bounce from post_master@ passed on by a forwarder that rewrote the
# envelope sender.
SAMPLES = {
    "list-manager": MACHINE / "list-manager--fml-loop-alert.eml",
    "provider-autoreply": MACHINE / "provider-autoreply--icloud-vacation.eml",
    "bounce-content": MACHINE / "bounce-content--post-master-sms-gateway-forwarded.eml",
}


async def test_machine_mail_with_a_real_envelope_is_recorded_and_never_answered(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    for path in SAMPLES.values():
        mail = parse_message(path.read_bytes())
        assert mail.return_path not in (None, "")
        assert not mail.header("Auto-Submitted")
    config = write_config(tmp_path, dovecot, smtp_server)
    async with running(config) as app:
        await wait_connected(app)
        for path in SAMPLES.values():
            await dovecot.append_async(SUPPORT, path.read_bytes())
        customer = make_mail(
            sender="Rina Kusuma <rina.kusuma@example.com>",
            subject="Pesanan #1207 belum sampai",
            body="Halo, pesanan saya belum sampai sejak Senin. Mohon dicek ya.",
            message_id="<order-1207@example.com>",
        )
        await dovecot.append_async(SUPPORT, customer)
        await wait_until(lambda: all_decided(config, len(SAMPLES) + 1))
        await wait_until(lambda: all_sent(config))
    [ack] = smtp_server.received
    assert ack.rcpt_tos == ("rina.kusuma@example.com",)
    assert ack.message["In-Reply-To"] == "<order-1207@example.com>"
    inbound = {row["id"]: row for row in await db_rows(config, "inbound")}
    suppressed = {
        row["rule"]: inbound[row["inbound_id"]] for row in await db_rows(config, "suppressions")
    }
    assert sorted(suppressed) == sorted(SAMPLES)
    for rule, path in SAMPLES.items():
        assert suppressed[rule]["external_id"] == parse_message(path.read_bytes()).message_id
    outcomes = sorted(row["outcome"] for row in inbound.values())
    assert outcomes == ["replied", "suppressed", "suppressed", "suppressed"]
