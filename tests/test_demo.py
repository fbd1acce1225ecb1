"""The README's first command: the demo answers the customers and stays silent to machines."""

from __future__ import annotations

from pathlib import Path

import pytest

from responder.demo import run_demo


async def test_demo_shows_two_acknowledgements_and_five_silences(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await run_demo(tmp_path) == 0
    out = capsys.readouterr().out
    sent, _, silent = out.partition("=== what responder decided not to answer ===")
    assert sent.count("MAIL FROM:<>") == 2
    assert "RCPT TO:budi@example.com" in sent and "RCPT TO:sarah@example.net" in sent
    assert "Terima kasih telah menghubungi Toko Contoh" in sent
    for rule in ("system-sender", "list-headers", "auto-submitted", "noreply-sender", "follow-up"):
        assert rule in silent
