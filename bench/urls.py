"""The product's URLs plus ``/bench/bare``: what any Django view costs on this stack.

The bare view parses the same JSON body a webhook sends and answers a JSON id, through the
same middleware and gunicorn workers as ``/trigger/<token>``; the difference between the
two is what Triggerfish itself adds (resolve, limit, store, enqueue)."""

import json
import uuid

from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from config.urls import handler404, handler500  # noqa: F401
from config.urls import urlpatterns as product_urlpatterns


@csrf_exempt
@never_cache
def bare(request: HttpRequest) -> JsonResponse:
    body = json.loads(request.body or b"{}")
    return JsonResponse({"executionId": str(uuid.uuid4()), "keys": len(body)})


urlpatterns = [path("bench/bare", bare), *product_urlpatterns]
