"""sendDocument, sendPhoto and getFile for the Bot API stand-in: multipart uploads, checked
against the Bot API's limits and recorded with the file's name, size and caption; files
bots may download (a mixin)."""

from __future__ import annotations

import hashlib

from responder.testing._http import Upload
from responder.testing.telegram_api import BotApiMethods
from responder.testing.telegram_params import check_markup, counted_length
from responder.testing.telegram_records import JSON, Fail

# core.telegram.org/bots/api#sending-files: 50 MB for other files, 10 MB for photos, sent by
# the bot as multipart/form-data; a caption is 0-1024 characters after entity parsing.
MAX_DOCUMENT = 50 * 1024 * 1024
MAX_PHOTO = 10 * 1024 * 1024
MAX_CAPTION = 1024
# getFile: "bots can download files of up to 20MB in size".
MAX_DOWNLOAD = 20 * 1024 * 1024
# The image formats Telegram makes a photo of; anything else fails its processing.
_IMAGES = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"GIF87a", b"GIF89a", b"BM")
# The stand-in does not decode images: every photo is shown as this one size.
PHOTO_SIZE = {"width": 800, "height": 600}


class BotApiFiles(BotApiMethods):
    """`_api_senddocument`, `_api_sendphoto`; the stand-in's app must accept bodies over
    50 MB (aiohttp's client_max_size) for the limit to be Telegram's, not aiohttp's."""

    async def _api_getfile(self, params: JSON) -> JSON:
        """core.telegram.org/bots/api#getfile: the File, its file_path for
        /file/bot<token>/<file_path>; over 20 MB Telegram refuses."""
        file_id = str(params.get("file_id", ""))
        with self._cond:
            found = self.files.get(file_id)
        if found is None:
            raise Fail(400, "Bad Request: invalid file_id")
        path, data = found
        if len(data) > MAX_DOWNLOAD:
            raise Fail(400, "Bad Request: file is too big")
        unique = hashlib.sha256(data).hexdigest()[:16]
        return {"file_id": file_id, "file_unique_id": unique, "file_size": len(data)} | {
            "file_path": path
        }

    def add_file(self, file_id: str, data: bytes, path: str) -> None:
        """A file Telegram keeps under `file_id` (what a staff member sent), downloadable
        at /file/bot<token>/<path>."""
        with self._cond:
            self.files[file_id] = (path, data)

    async def _api_senddocument(self, params: JSON) -> JSON:
        upload = _upload(params, "document", MAX_DOCUMENT)
        caption = _caption(params)
        document = _file(upload) | {"file_name": upload.filename, "mime_type": upload.content_type}
        return self._sent_file("sendDocument", params, {"document": document}, upload, caption)

    async def _api_sendphoto(self, params: JSON) -> JSON:
        upload = _upload(params, "photo", MAX_PHOTO)
        if not upload.data.startswith(_IMAGES) and upload.data[8:12] != b"WEBP":
            raise Fail(400, "Bad Request: IMAGE_PROCESS_FAILED")
        caption = _caption(params)
        # Telegram answers with the photo in the sizes it made; the file name is not kept.
        photo = [_file(upload) | PHOTO_SIZE]
        return self._sent_file("sendPhoto", params, {"photo": photo}, upload, caption)

    def _sent_file(
        self, method: str, params: JSON, content: JSON, upload: Upload, caption: str | None
    ) -> JSON:
        check_markup(params)
        if caption is not None:
            content["caption"] = caption
        # A sent file is Telegram's from now on: getFile downloads it by its file_id.
        file_id = _file(upload)["file_id"]
        folder = "photos" if method == "sendPhoto" else "documents"
        self.add_file(file_id, upload.data, f"{folder}/{upload.filename or file_id}")
        return self._send(
            method,
            params,
            content,
            text=caption,
            file_name=upload.filename,
            file_size=len(upload.data),
            file_id=file_id,
        )


def _upload(params: JSON, field: str, limit: int) -> Upload:
    upload = params.get(field)
    if not isinstance(upload, Upload):
        raise Fail(400, f"Bad Request: there is no {field} in the request")
    if not upload.data:
        raise Fail(400, "Bad Request: file must be non-empty")
    if len(upload.data) > limit:
        raise Fail(413, "Request Entity Too Large")
    return upload


def _caption(params: JSON) -> str | None:
    caption = params.get("caption")
    if caption is None or caption == "":
        return None
    text = str(caption)
    if counted_length(text, params) > MAX_CAPTION:
        raise Fail(400, "Bad Request: message caption is too long")
    return text


def _file(upload: Upload) -> JSON:
    digest = hashlib.sha256(upload.data).hexdigest()
    ids = {"file_id": f"file-{digest[:24]}", "file_unique_id": digest[:16]}
    return ids | {"file_size": len(upload.data)}
