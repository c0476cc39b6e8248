"""Stored files answered to a request, with their length: a file larger than :data:`STREAM_ABOVE` is streamed from
the app's storage (:mod:`capa.common.files`) in pieces, so that it is never held in memory whole; a smaller one (a
photo, most PDFs) is read at once and the storage let go before the answer is sent."""

import io

from flask import Response, send_file

from capa.common.files import Stored, unreadable

STREAM_ABOVE = 1024 * 1024


def send_stored(
    stored: Stored,
    *,
    mimetype: str,
    download_name: str | None = None,
    as_attachment: bool = False,
    max_age: int | None = None,
) -> Response:
    """A response with the file ``stored`` as ``mimetype``, of its length (streamed, and closed once sent, when it is
    large); the caller adds the headers of its kind of file (caching, ``nosniff``, a sandbox). Raises StorageRefused
    (503) when the storage fails while a small file is read."""
    stream = stored.stream
    if stored.size <= STREAM_ABOVE:
        try:
            stream = io.BytesIO(stored.read())
        except OSError as error:
            raise unreadable(error) from error
    response = send_file(
        stream,
        mimetype=mimetype,
        download_name=download_name,
        as_attachment=as_attachment,
        max_age=max_age,
        # Ranges (a PDF viewer asking for pages) for a file read whole; a stream is answered whole.
        conditional=stream is not stored.stream,
    )
    if stream is stored.stream:
        response.content_length = stored.size
    return response


def send_private_download(stored: Stored, *, mimetype: str, download_name: str) -> Response:
    """A stored document answered as a download: never cached by a shared cache, never sniffed into another type,
    and sandboxed should a browser show it anyway."""
    response = send_stored(stored, mimetype=mimetype, as_attachment=True, download_name=download_name)
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox"
    return response
