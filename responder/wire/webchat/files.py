"""The files the website chat passes either way (issue 17): images and PDFs, known by their
bytes, never by the name or the type a browser or a staff member's app declared."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# MIME type -> the extension a file of it is named with when it has none of its own.
FILE_TYPES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "image/gif": ".gif",
    "application/pdf": ".pdf",
}
_NAME = 120  # characters of a file's name kept
_UNSAFE = re.compile(r'[\x00-\x1f\x7f"\\/:*?<>|]+')


def sniff(data: bytes) -> str | None:
    """The MIME type `data` really is, from its first bytes (the signatures in WHATWG MIME
    Sniffing, section 6.1 "Matching an image type pattern", and PDF's "%PDF-", ISO
    32000-1 section 7.5.2); None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:14] == b"WEBPVP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    return None


def kind_of(mime: str) -> str:
    """The attachment kind staff desks go by: an image is posted as a photo."""
    return "image" if mime.startswith("image/") else "document"


def file_name(name: str, mime: str) -> str:
    """A name safe to show and to put in Content-Disposition: no path, no controls, with
    the extension of what the file is."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = _UNSAFE.sub("_", name).strip(" .")[:_NAME]
    extension = FILE_TYPES.get(mime, "")
    known = (".jpg", ".jpeg") if mime == "image/jpeg" else (extension,)
    stem, dot, _ = name.rpartition(".")
    if name.lower().endswith(known) and stem:
        return name
    return f"{(stem if dot else name) or 'file'}{extension}"


@dataclass(frozen=True)
class ChatFile:
    """A file as a message or a reply names it: its key (the visitor's upload "v<client
    id>", an answer's "r<reply id>"), shown name, type and size in bytes."""

    key: str
    name: str
    mime: str
    size: int | None = None

    def to_json(self) -> dict[str, object]:
        doc: dict[str, object] = {"key": self.key, "name": self.name, "mime": self.mime}
        if self.size is not None:
            doc["size"] = self.size
        return doc

    @classmethod
    def from_json(cls, doc: object) -> ChatFile | None:
        if not isinstance(doc, dict):
            return None
        key, name, mime, size = doc.get("key"), doc.get("name"), doc.get("mime"), doc.get("size")
        if not (isinstance(key, str) and isinstance(name, str) and mime in FILE_TYPES):
            return None
        return cls(key, name, str(mime), size if isinstance(size, int) else None)
