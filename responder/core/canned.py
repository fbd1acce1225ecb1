"""Files a rule's canned answer carries (issue 18): found in the templates folders by name,
known by their bytes, and lent to every channel through the file fetcher as `CANNED` refs."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from responder.core.channel import ChannelProfile, FileRef
from responder.core.templates import shipped_templates_dir

# The FileRef channel of a canned file: no channel may have this name (config/types.py
# ChannelName), so a customer's file can never be mistaken for one of the shop's.
CANNED = "@templates"
# The types every channel takes: WhatsApp's images are JPEG and PNG only (Cloud API,
# "Supported media types"); a PDF is a document everywhere.
TYPES = {"application/pdf": "document", "image/jpeg": "image", "image/png": "image"}
# Telegram and WhatsApp take at most 1,024 characters under a photo or document; a longer
# text goes first, on its own, and the files after it.
CAPTION_LIMIT = 1024
MB = 1024 * 1024


def sniff(head: bytes) -> str | None:
    """The type the file's first bytes say it is (PDF 7.5.2's "%PDF-", JPEG's SOI, PNG's
    signature); None for anything the channels cannot all take."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    return None


def folders(admin_dir: Path | None) -> list[Path]:
    """Where canned files are looked for: the admin's templates folder, then ours."""
    return [*([admin_dir] if admin_dir is not None else []), shipped_templates_dir()]


def locate(admin_dir: Path | None, name: str) -> Path | None:
    """The file `name` in the first templates folder that has it; a name is a plain file
    name (config/rules.py refuses paths), so nothing outside the folders is ever read."""
    for folder in folders(admin_dir):
        path = folder / name
        if path.is_file():
            return path
    return None


@dataclass(frozen=True)
class CannedFile:
    """A file as `check` found it: its ref for the channels, and its size in bytes."""

    ref: FileRef
    size: int


def canned_ref(name: str, mime: str) -> FileRef:
    return FileRef(CANNED, name, TYPES[mime], name, mime)


def over_limit(profile: ChannelProfile, file: CannedFile) -> int | None:
    """The channel's limit for this kind of file, when the file is over it; None if it fits."""
    limit = profile.max_image if file.ref.kind == "image" else profile.max_document
    return limit if file.size > limit else None


def caption_fits(text: str) -> bool:
    return len(text.strip()) <= CAPTION_LIMIT
