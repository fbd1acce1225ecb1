"""The HTML report as a browser shows it: headless Chromium renders the figures and charts."""

from __future__ import annotations

import contextlib
import html
import io
import re
import shutil
import struct
import subprocess
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_report import (
    LABELS,
    RANDOM_SINCE,
    RANDOM_UNTIL,
    expected_figures,
    random_rows,
    write_config,
)

from responder.cli import main
from responder.config import load_config

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path("/tmp/report_screenshot.png")


def chromium(profile: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install the chromium package to test the HTML report")
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ]
    return subprocess.run(
        [str(CHROMIUM), *flags, *args], capture_output=True, timeout=60, check=True
    )


class Report:
    def __init__(self, root: Path) -> None:
        config = write_config(root)
        self.rows = random_rows()
        self.rows.write(load_config(config).database_url_resolved)
        self.expected = expected_figures(self.rows, datetime.now(UTC))
        self.path = root / "report.html"
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.code = main(
                [
                    "report",
                    "-c",
                    str(config),
                    "--since",
                    str(RANDOM_SINCE),
                    "--until",
                    str(RANDOM_UNTIL),
                    "--html",
                    str(self.path),
                ]
            )
        self.stdout = out.getvalue()
        self.source = self.path.read_text(encoding="utf-8")
        self.dom = chromium(root / "profile", "--dump-dom", self.path.as_uri()).stdout.decode()
        self.png = root / "report.png"
        chromium(
            root / "profile",
            f"--screenshot={self.png}",
            "--window-size=1280,2600",
            "--hide-scrollbars",
            self.path.as_uri(),
        )
        shutil.copyfile(self.png, SCREENSHOT)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    return Report(tmp_path_factory.mktemp("html"))


def card(dom: str, key: str) -> str:
    found = re.search(
        rf'data-key="{key}"><div class="label">[^<]*</div><div class="value">([^<]*)</div>', dom
    )
    assert found, f"no card {key}"
    return html.unescape(found.group(1))


def test_the_cli_says_where_the_page_is(report: Report) -> None:
    assert report.code == 0
    assert report.stdout.rstrip().endswith(f"HTML report written to {report.path}")


def test_the_browser_shows_the_same_figures(report: Report) -> None:
    for key in LABELS:
        assert card(report.dom, key) == report.expected[key], key
    assert "Surveys answered" in report.dom and report.expected["response_rate"] in report.dom
    # The charts: the week heatmap (7 x 24 cells), the response histogram, the CSAT trend.
    assert report.dom.count("<svg") == 4
    assert (
        len(
            re.findall(
                r"<title>(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d\d:00 – \d+ tickets</title>", report.dom
            )
        )
        == 7 * 24
    )
    for label in ("&lt;15m", "30m–1h", "24–48h", "Average rating", "% rated 4–5"):
        assert label in report.dom, label
    assert "Hour of day, local time (Asia/Jakarta)" in report.dom


def test_customer_text_stays_text(report: Report) -> None:
    # A comment "<script>alert(1)</script> #n" is shown escaped, never as markup.
    assert "<script" not in report.source.lower()
    assert "<script" not in report.dom.lower()
    assert html.escape(report.expected["lowest_comment"], quote=False) in report.dom


def test_the_page_loads_nothing(report: Report) -> None:
    assert "default-src 'none'" in report.source
    assert not re.search(r"""(src|href)\s*=|url\(|@import""", report.source, re.IGNORECASE)
    assert "http://" not in report.source and "https://" not in report.source


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk comes first
    return width, height


def png_colours(data: bytes, band: int = 240) -> int:
    """Distinct pixel colours in the left `band` pixels of an 8-bit RGB(A) PNG.

    PNG filters only look left and up, so a left band decodes without the rest of the row.
    """
    width, height = png_size(data)
    depth, colour_type = data[24], data[25]
    assert depth == 8 and colour_type in (2, 6), (depth, colour_type)
    bpp = 3 if colour_type == 2 else 4
    idat, at = b"", 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        if kind == b"IDAT":
            idat += data[at + 8 : at + 8 + length]
        at += 12 + length
    raw, stride, size = zlib.decompress(idat), width * bpp, min(band, width) * bpp
    previous, colours = bytearray(size), set()
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + size])
        for i in range(size):
            a = line[i - bpp] if i >= bpp else 0
            b, c = previous[i], previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        colours.update(bytes(line[i : i + bpp]) for i in range(0, size, bpp))
        previous = line
    return len(colours)


def test_the_screenshot_is_not_blank(report: Report) -> None:
    data = report.png.read_bytes()
    assert png_size(data) == (1280, 2600)
    assert len(data) > 50_000
    assert png_colours(data) > 10
