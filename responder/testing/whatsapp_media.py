"""The Graph stand-in's media endpoints: retrieve a media URL, download it, upload (a mixin)."""

from __future__ import annotations

import hashlib
import itertools
import threading

from aiohttp import web

from responder.testing._http import Upload, read_form
from responder.testing.whatsapp_records import JSON, GraphError, StoredMedia, no_such_object

# Where the stand-in serves media bytes; Meta's is lookaside.fbsbx.com with the same path.
DOWNLOAD_PATH = "/whatsapp_business/attachments/"


class MediaEndpoints:
    """Media state and handlers; GraphStandIn supplies the token, the lock and the URL."""

    media: dict[str, StoredMedia]
    downloads: list[str]  # media ids fetched with a valid token, in order
    _cond: threading.Condition
    _media_ids: itertools.count[int]

    def _authorized(self, request: web.Request) -> bool:
        raise NotImplementedError

    def _download_url(self, media_id: str) -> str:
        raise NotImplementedError

    def add_media(self, data: bytes, mime_type: str, filename: str | None = None) -> str:
        """Store media a customer "sent"; returns its media id for a webhook's image/document."""
        media_id = str(next(self._media_ids))
        stored = StoredMedia(
            media_id=media_id,
            data=bytes(data),
            mime_type=mime_type,
            sha256=hashlib.sha256(data).hexdigest(),
            filename=filename,
        )
        with self._cond:
            self.media[media_id] = stored
        return media_id

    def forget_media(self, media_id: str) -> None:
        """Make a media id unknown, as Meta does once it expires (30 days)."""
        with self._cond:
            self.media.pop(media_id, None)

    def _media_info(self, media_id: str) -> JSON:
        with self._cond:
            found = self.media.get(media_id)
        if found is None:
            raise no_such_object(media_id, "get")
        return {
            "messaging_product": "whatsapp",
            "url": self._download_url(media_id),
            "mime_type": found.mime_type,
            "sha256": found.sha256,
            "file_size": len(found.data),
            "id": media_id,
        }

    async def _upload(self, request: web.Request) -> JSON:
        form = await read_form(request)
        if form.get("messaging_product") != "whatsapp":
            raise GraphError(
                400,
                100,
                "(#100) The parameter messaging_product is required.",
                details="The parameter messaging_product is required.",
            )
        upload = form.get("file")
        if not isinstance(upload, Upload):
            raise GraphError(
                400,
                100,
                "(#100) The parameter file is required.",
                details="The parameter file is required.",
            )
        declared = form.get("type")
        mime_type = declared if isinstance(declared, str) and declared else upload.content_type
        media_id = self.add_media(upload.data, mime_type, upload.filename)
        return {"id": media_id}

    async def _download(self, request: web.Request) -> web.Response:
        # The lookaside host answers plain HTTP errors, not Graph's JSON.
        if not self._authorized(request):
            return web.Response(status=401, text="Unauthorized")
        media_id = request.query.get("mid", "")
        with self._cond:
            found = self.media.get(media_id)
            if found is not None:
                self.downloads.append(media_id)
        if found is None:
            return web.Response(status=404, text="Not Found")
        headers = {}
        if found.filename:
            headers["Content-Disposition"] = f'attachment; filename="{found.filename}"'
        return web.Response(body=found.data, content_type=found.mime_type, headers=headers)
