"""Chunked request bodies on the management API.

Django's request stream stops at Content-Length and a chunked body has none, so without
this a chunked PATCH would be read as an empty body — answered 200 with nothing applied.
gunicorn de-chunks into ``wsgi.input``; the webhook edge's ``read_body`` reads it there
(with its limit and broken-stream checks), and the request is given that body.
"""

from __future__ import annotations

import io

from django.conf import settings
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse, JsonResponse

from triggers.webhooks.views import BodyTooLarge, IncompleteBody, read_body

DEFAULT_UPLOAD_LIMIT = 2_621_440  # Django's own default for DATA_UPLOAD_MAX_MEMORY_SIZE


class ChunkedApiBodyMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        if (
            request.path.startswith("/api/")
            and not meta.get("CONTENT_LENGTH")
            and "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower()
        ):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE or DEFAULT_UPLOAD_LIMIT
            try:
                body = read_body(request, limit)
            except BodyTooLarge:
                message = (
                    f"The body is over the limit of {limit} bytes (DATA_UPLOAD_MAX_MEMORY_SIZE)."
                )
                return JsonResponse({"error": message}, status=413)
            except IncompleteBody:
                return JsonResponse({"error": "Incomplete request body."}, status=400)
            request._stream = LimitedStream(io.BytesIO(body), len(body))  # type: ignore[assignment]  # Django reads the body from _stream
            meta["CONTENT_LENGTH"] = str(len(body))
        return self.get_response(request)
