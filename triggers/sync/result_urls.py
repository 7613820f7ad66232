"""The signed result URL, ``/results/<token>``: where a synchronous caller is redirected.

Fetched without credentials (the signature is the credential, SPEC §3), so it is a plain
Django view outside the API's token auth. It answers 202 while the run goes on, then the
result: served from the local results storage, or redirected to a fresh presigned S3 URL.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from triggers.sync.answers import error_response
from triggers.sync.wait import result_url_respond

ALLOWED_METHODS = ("GET", "HEAD")


# CSRF-exempt so that a POST, PUT or DELETE reaches the 405 below instead of Django's CSRF
# page (HTML, 403): the URL carries no session and changes nothing.
@csrf_exempt
@never_cache
def result_view(request: HttpRequest, token: str) -> HttpResponseBase:
    if request.method not in ALLOWED_METHODS:
        refused = error_response(f"Method {request.method} is not allowed.", 405)
        refused["Allow"] = ", ".join(ALLOWED_METHODS)
        return refused
    response: HttpResponseBase = result_url_respond(token=token)
    if request.method == "HEAD":
        # Not every WSGI server drops a HEAD body; the headers (length, type) stay.
        length = response.get("Content-Length")
        if response.streaming:
            response.close()
        response = _headers_only(response, length)
    return response


def _headers_only(response: HttpResponseBase, length: str | None) -> HttpResponse:
    head = HttpResponse(status=response.status_code)
    for name, value in response.items():
        head[name] = value
    if length is not None:
        head["Content-Length"] = length
    return head
