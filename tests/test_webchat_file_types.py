"""What the website chat takes as a file (issue 17): images and PDFs known by their bytes, a
safe name, and the channel's max_file within its bounds."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from responder.config.webchat import WebChatChannelConfig
from responder.wire.webchat.files import file_name, sniff

BASE = {
    "name": "web",
    "type": "webchat",
    "allowed_origins": ["https://toko-contoh.id"],
    "title": "Toko Contoh",
}


@pytest.mark.parametrize(
    "data, mime",
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"GIF87a\x01\x00", "image/gif"),
        (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"%PDF-1.7\n", "application/pdf"),
        (b"MZ\x90\x00", None),  # a Windows program named foto.png
        (b"<svg onload=alert(1)>", None),  # SVG runs script: never an image here
        (b"<html><script>", None),
        (b"PK\x03\x04", None),  # a zip (an Office file)
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", None),
        (b"\x89PNG", None),  # cut short
        (b"", None),
    ],
)
def test_a_file_is_what_its_bytes_say(data: bytes, mime: str | None) -> None:
    assert sniff(data) == mime


@pytest.mark.parametrize(
    "given, mime, shown",
    [
        ("kaos.png", "image/png", "kaos.png"),
        ("C:\\Users\\sari\\foto.JPEG", "image/jpeg", "foto.JPEG"),
        ("../../etc/passwd", "application/pdf", "passwd.pdf"),
        ('nota"\r\nX-Evil: 1.pdf', "application/pdf", "nota_X-Evil_ 1.pdf"),
        ("foto.png", "image/jpeg", "foto.jpg"),  # named png, but a JPEG
        ("", "image/webp", "file.webp"),
        (". .", "application/pdf", "file.pdf"),
    ],
)
def test_a_file_name_is_safe_to_show_and_ends_as_what_it_is(
    given: str, mime: str, shown: str
) -> None:
    assert file_name(given, mime) == shown


def test_max_file_is_5mb_unless_set_and_reads_sizes() -> None:
    assert WebChatChannelConfig.model_validate(BASE).max_file == 5 * 1024 * 1024
    config = WebChatChannelConfig.model_validate(BASE | {"max_file": "512KB"})
    assert config.max_file == 512 * 1024


@pytest.mark.parametrize("size", ["32KB", "21MB", "lots"])
def test_max_file_outside_64kb_to_20mb_is_refused(size: str) -> None:
    with pytest.raises(ValidationError):
        WebChatChannelConfig.model_validate(BASE | {"max_file": size})
