"""``/media/<sha256>.<ext>``: the images question texts show.

Who may load one: anyone who has its URL. A URL names the SHA-256 of the image (256 bits, not
guessable), and a text that links to it is shown only to organizers and, once the question is in
a paper, to the contestants who draw it; nothing lists the images, and a name that is not stored
answers 404 like a name of the wrong form. So an anonymous visitor cannot enumerate them, while a
contestant's phone, the review page and a projector load them without a session (and a cache may
keep them: an image never changes under its name).

The response is built so that the bytes can only ever be an image: the stored media type (sniffed
when it was stored, :mod:`question_bank.images`), ``nosniff``, and a Content-Security-Policy that
allows nothing and sandboxes the document, in case someone opens the URL as a page.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, request

from contest.extensions import reads_only
from contest.main import bp
from contest.services import images as image_service
from question_bank.images import MEDIA_PREFIX, MEDIA_TYPES

IMAGE_POLICY = "default-src 'none'; sandbox"
YEAR = 365 * 24 * 3600


@bp.route(MEDIA_PREFIX + "<name>")
@reads_only
def media(name: str) -> Any:
    image = image_service.get(name)
    if image is None:
        abort(404)
    etag = f'"{image.sha256}"'
    headers = {
        "ETag": etag,
        "Cache-Control": f"public, max-age={YEAR}, immutable",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": IMAGE_POLICY,
        "Content-Disposition": f'inline; filename="{image.sha256}.{image.ext}"',
        "Cross-Origin-Resource-Policy": "same-origin",
    }
    if etag in request.headers.get("If-None-Match", ""):
        return Response(status=304, headers=headers)
    return Response(image.content, content_type=MEDIA_TYPES[image.ext], headers=headers)
