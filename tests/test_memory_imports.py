"""A mail-only daemon loads none of the libraries only SLA, surveys or holidays need."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

# Started in a fresh interpreter, so sys.modules shows what this daemon alone imported. The
# channel points at ports where nothing listens: it retries, which is all start-up needs.
DAEMON = textwrap.dedent(
    """\
    import asyncio, os, sys
    from pathlib import Path
    from responder.app.daemon import App
    from responder.config.loader import load_config_text

    state = Path(sys.argv[1])
    os.environ["RESPONDER_TEST_IMAP"] = "s3cret-value"
    text = '''\\
    state_dir: %s
    business_hours:
      weekly: {mon: "08:00-17:00", tue: "08:00-17:00"}
    channels:
      - name: support-mail
        type: email
        address: support@toko-contoh.id
        imap: {host: 127.0.0.1, port: 9, security: none, username: support@toko-contoh.id,
               password_env: RESPONDER_TEST_IMAP}
        smtp: {host: 127.0.0.1, port: 9, security: none}
    ''' % state

    async def main():
        app = App(load_config_text(text, "config.yaml", state))
        await app.start()
        await asyncio.sleep(0.2)
        await app.stop(1.0)

    asyncio.run(main())
    heavy = ("holidays", "apscheduler", "multiprocessing", "concurrent.futures.process", "aiohttp")
    print(sorted(m for m in heavy if m in sys.modules))
    """
)


def test_mail_only_daemon_skips_sla_survey_and_holiday_libraries(tmp_path: Path) -> None:
    # The daemon's memory budget is 80 MB (issue 15); these cost ~4 MB it would not use.
    out = subprocess.run(
        [sys.executable, "-c", DAEMON, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stderr
