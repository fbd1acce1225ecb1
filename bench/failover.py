"""Failover time (issue 19): N instances on one database, each in a pid namespace of its own,
customers writing by mail and Telegram all along; the holder of the intake leases is killed
-9 again and again, and restarted as a standby each time."""

from __future__ import annotations

import argparse
import os
import platform
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.ack_latency import progress
from bench.cluster import (
    INTAKE,
    MAIL_PASSWORD,
    MAILBOX,
    TG_TOKEN,
    Instance,
    Stream,
    write_config,
)
from bench.databases import KINDS, Database, databases, postgresql_available
from bench.failover_report import Kill, Outcome, acks_by, first_after, table, tally, write_figures
from bench.telegram_latency import BenchError
from bench.workdir import work_dir
from responder.core.leases import presence
from responder.testing import Dovecot, DovecotError, RecordingSMTPServer, TelegramStandIn

EVERY = 0.25  # a mail and a Telegram message this often
BETWEEN = (2.0, 3.0)  # seconds from a restart to the next kill, drawn at random
WAIT = 30.0  # for instances to come up, a takeover, the last acknowledgements
POLL = 0.02


def wait_for(what: str, check: Callable[[], bool], instances: Sequence[Instance]) -> None:
    deadline = time.monotonic() + WAIT
    while not check():
        for instance in instances:
            if not instance.running():
                raise BenchError(f"{instance.name} exited; log tail:\n{instance.log_tail()}")
        if time.monotonic() > deadline:
            raise BenchError(f"{what}: not within {WAIT:.0f}s")
        time.sleep(POLL)


def one_holder(db: Database, instances: Sequence[Instance]) -> Instance | None:
    """The instance holding both intake leases, when one does."""
    now = db.holders()
    holder = now.get(INTAKE[0])
    if holder is None or any(now.get(name) != holder for name in INTAKE):
        return None
    return next((i for i in instances if i.instance_id() == holder), None)


def present(db: Database, instances: Sequence[Instance]) -> bool:
    """Every instance up (its presence lease held) and intake held by one of them."""
    now = db.holders()
    ids = [i.instance_id() for i in instances]
    return all(i is not None and now.get(presence(i)) == i for i in ids) and bool(
        one_holder(db, instances)
    )


def kill_holder(db: Database, instances: list[Instance], stream: Stream) -> Kill:
    victim: Instance | None = None

    def found() -> bool:
        nonlocal victim
        victim = one_holder(db, instances)
        return victim is not None

    wait_for("one instance holding both intake leases", found, instances)
    assert victim is not None
    old = victim.instance_id() or ""
    killed = time.monotonic()
    victim.kill9()
    others = [i for i in instances if i is not victim]

    def taken_over() -> bool:
        now = db.holders()
        return all(now.get(name) not in (None, old) for name in INTAKE)

    wait_for("intake taken over", taken_over, others)
    kill = Kill(old, killed, time.monotonic() - killed)
    stream.check()
    victim.start()  # back as a standby, as systemd's Restart= would
    wait_for("the killed instance back", lambda: present(db, instances), instances)
    progress(f"[kill {old}] intake taken over after {kill.takeover:.2f} s")
    return kill


def run(args: argparse.Namespace) -> tuple[Outcome, str] | None:
    errors = (BenchError, DovecotError, OSError, RuntimeError, TimeoutError)
    with work_dir("failover-", keep=args.keep, errors=errors, logs=True) as work:
        outcome = Outcome()
        dovecot = Dovecot(work.path / "dovecot", {MAILBOX: MAIL_PASSWORD})
        smtp, tg = RecordingSMTPServer(), TelegramStandIn(token=TG_TOKEN)
        instances: list[Instance] = []
        stream = Stream(dovecot, tg, EVERY)
        with databases(work.path) as dbs:
            try:
                for server in (dovecot, smtp, tg):
                    server.start()
                db = dbs.fresh(args.db)
                servers = (dovecot.port, smtp.port, tg.base_url.removesuffix("/bot"))
                for n in range(args.instances):
                    config = write_config(work.path, f"i{n}", db, servers, (args.ttl, args.beat))
                    instances.append(Instance(f"i{n}", config, work.path / f"i{n}.log"))
                    instances[-1].start()
                    if n == 0:  # the others once the schema is made: see ready()
                        wait_for("the database made", instances[0].ready, instances)
                wait_for("every instance up", lambda: present(db, instances), instances)
                time.sleep(args.ttl)  # the holder's first IMAP run is done: mail from now is new
                stream.start()
                draw = random.Random(args.seed)
                for _ in range(args.kills):
                    time.sleep(draw.uniform(*BETWEEN))
                    outcome.kills.append(kill_holder(db, instances, stream))
                time.sleep(BETWEEN[0])
                stream.stop()
                stream.check()
                mails = acks_by([(r, m.at) for m in smtp.received for r in m.rcpt_tos])
                chats = acks_by([(int(s.chat_id), s.at) for s in tg.sent])

                def answered() -> bool:
                    mails.update(acks_by([(r, m.at) for m in smtp.received for r in m.rcpt_tos]))
                    chats.update(acks_by([(int(s.chat_id), s.at) for s in tg.sent]))
                    return set(stream.mails) <= set(mails) and set(stream.chats) <= set(chats)

                try:
                    wait_for("every customer acknowledged", answered, instances)
                except BenchError as exc:
                    progress(f"bench: {exc}")  # counted as missing below
                time.sleep(args.ttl + 2 * args.beat)  # a repeat would have come by now
                answered()
                for kill in outcome.kills:
                    kill.mail_ack = first_after(kill.at, stream.mails, mails)
                    kill.telegram_ack = first_after(kill.at, stream.chats, chats)
                tally(outcome, stream.mails, mails)
                tally(outcome, stream.chats, chats)
                outcome.mails, outcome.chats = len(stream.mails), len(stream.chats)
                outcome.conflicts = tg.conflicts
                db.close()
            finally:
                stream.stop()
                for instance in instances:
                    instance.stop()
                for server in (tg, smtp, dovecot):
                    server.stop()
            versions = dbs.versions()
    return None if work.failed else (outcome, versions)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.failover", description=__doc__)
    default_db = "postgresql" if postgresql_available() else "sqlite"
    parser.add_argument("--db", choices=KINDS, default=default_db, help=f"({default_db})")
    parser.add_argument("--instances", type=int, default=3, help="on the database (3)")
    parser.add_argument("--kills", type=int, default=10, help="kill -9 of the holder (10)")
    parser.add_argument("--ttl", type=float, default=3.0, help="cluster.lease_ttl, s (3)")
    parser.add_argument("--beat", type=float, default=1.0, help="cluster.heartbeat, s (1)")
    parser.add_argument("--seed", type=int, default=19, help="for the pauses between kills")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the work directory and logs")
    args = parser.parse_args(argv)
    if args.instances < 2 or args.kills < 1 or args.beat <= 0 or args.ttl < 2 * args.beat:
        parser.error("--instances >= 2, --kills >= 1, and --beat under half of --ttl")
    if args.db == "postgresql" and not postgresql_available():
        parser.error("--db postgresql needs psycopg and Debian's postgresql (scripts/dev test)")
    done = run(args)
    if done is None:
        return 1
    outcome, versions = done
    text, verdicts = table(outcome, args.ttl, args.beat)
    print(
        f"\nresponder failover benchmark: {args.instances} instances on {args.db}, each in its"
        f" own pid namespace, {args.kills} x kill -9 of the intake holder\n"
        f"lease_ttl {args.ttl:g}s, heartbeat {args.beat:g}s; {outcome.mails} mails and"
        f" {outcome.chats} Telegram messages, one each every {EVERY:g}s\n"
        f"{versions}, Python {platform.python_version()}, {os.cpu_count()} CPUs\n"
    )
    print(text)
    if args.json is not None:
        settings = {k: getattr(args, k) for k in ("db", "instances", "kills", "ttl", "beat")}
        write_figures(args.json, {**settings, "every": EVERY}, outcome, verdicts)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
