"""A reload renders every template off the event loop: the daemon keeps answering meanwhile."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import aiohttp
from harness import DaemonProcess, write_config

from responder.testing import Dovecot, RecordingSMTPServer
from responder.testing._net import free_port

# An admin's template that takes a while to render (~0.1 s here); a reload renders each one
# against samples in every language, so twelve of them keep it busy for seconds.
SLOW = "{% for i in range(2000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}Halo\n"
RULES = 12


def slow_rules(templates: Path) -> str:
    """Config lines for RULES rules, each with its own slow template, written to `templates`."""
    lines = ["rules:"]
    for n in range(RULES):
        for language in ("id", "en"):
            folder = templates / language
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"slow{n}.subject.j2").write_text(f"Jawaban {n}")
            (folder / f"slow{n}.txt.j2").write_text(SLOW)
            (folder / f"slow{n}.html.j2").write_text("<p>Halo</p>")
        lines += [
            f"  - name: slow-{n}",
            f'    when: {{subject_contains: ["topik {n}"]}}',
            f"    then: {{template: slow{n}}}",
        ]
    lines.append("  - name: default")
    return "\n".join([*lines, f"templates_dir: {templates}", ""])


async def test_the_daemon_keeps_answering_healthz_while_a_reload_renders_its_templates(
    tmp_path: Path, dovecot: Dovecot, smtp_server: RecordingSMTPServer
) -> None:
    port = free_port()
    config = write_config(
        tmp_path, dovecot, smtp_server, extra=f"http: {{host: 127.0.0.1, port: {port}}}"
    )
    log = tmp_path / "daemon.log"
    daemon = DaemonProcess(config, log)
    daemon.start()
    url = f"http://127.0.0.1:{port}/healthz"
    answers: list[tuple[int, float]] = []  # (status, seconds it took)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:

        async def healthz() -> tuple[int, float]:
            began = time.monotonic()
            async with session.get(url) as response:
                await response.read()
                return response.status, time.monotonic() - began

        try:
            deadline = time.monotonic() + 20
            healthy_since: float | None = None
            # Up: every channel connected, start-up over (its last step, a full collection,
            # may hold the loop on a busy machine) and healthy for longer than the monitor's
            # interval, so a lag of start-up's is not taken for the reload's.
            while healthy_since is None or time.monotonic() - healthy_since < 1.0:
                try:
                    healthy = (await healthz())[0] == 200
                except aiohttp.ClientConnectionError:
                    healthy = False
                if not healthy or "responder started" not in log.read_text():
                    healthy_since = None
                elif healthy_since is None:
                    healthy_since = time.monotonic()
                assert time.monotonic() < deadline, log.read_text()
                await asyncio.sleep(0.1)
            config.write_text(config.read_text() + slow_rules(tmp_path / "tpl"))
            assert daemon.proc is not None
            sent = time.monotonic()
            daemon.proc.send_signal(signal.SIGHUP)
            while "configuration reloaded" not in log.read_text():
                assert time.monotonic() - sent < 60, log.read_text()
                answers.append(await healthz())
                await asyncio.sleep(0.02)
            took = time.monotonic() - sent
        finally:
            code = daemon.terminate()
    text = log.read_text()
    assert code == 0, text
    assert "reload refused" not in text
    # The reload was long enough that a loop busy with it would have been seen stalling...
    assert took > 1.5, took
    # ...and the loop kept serving throughout: every answer healthy and prompt.
    assert len(answers) > took / 0.1, (took, answers)
    assert {status for status, _ in answers} == {200}, answers
    assert max(seconds for _, seconds in answers) < 0.5, answers
