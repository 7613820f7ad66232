"""The polling bench's source: a threaded HTTP server on 127.0.0.1 serving one growing
list of items per key, logging when each answer was received and sent."""

from __future__ import annotations

import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

MAX_NEW_ITEMS = 5


class ItemSource:
    """``GET /items/<key>?since=<n>`` answers ``{"items": [...], "next": <n'>}`` with the
    key's items from index n; when n has reached the end, 0-5 new items are added first.
    Every answer is logged: (key, request received, answer sent, item ids)."""

    def __init__(self) -> None:
        self.lists: dict[str, list[dict[str, Any]]] = {}
        self.log: list[tuple[str, float, float, list[str]]] = []
        self._grown: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._server.request_queue_size = 256
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def answer(self, key: str, since: int) -> list[dict[str, Any]]:
        with self._lock:
            items = self.lists.setdefault(key, [])
            if since >= len(items):
                growth = self._grown[key] = self._grown.get(key, 0) + 1
                grow = random.Random(f"{key}:{growth}").randint(0, MAX_NEW_ITEMS)
                items.extend({"id": f"{key}:{len(items) + n}"} for n in range(grow))
            return items[since:]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        source = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                received = time.time()
                parts = urlsplit(self.path)
                key = parts.path.rsplit("/", 1)[-1]
                since = int(parse_qs(parts.query).get("since", ["0"])[0] or 0)
                items = source.answer(key, since)
                body = json.dumps({"items": items, "next": since + len(items)}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                with source._lock:
                    source.log.append((key, received, time.time(), [i["id"] for i in items]))

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
