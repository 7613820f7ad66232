"""Log lines never carry a credential that sits in a URL path (SPEC §3).

Three paths hold one: a webhook's ``/trigger/<token>``, a synchronous result's
``/results/<signed token>`` and the API's ``…/api-keys/<key>``. Django writes the path of
every 4xx/5xx answer (``Not Found: /trigger/<token>`` on ``django.request``), runserver and
gunicorn write request lines, and a message or traceback may quote a URL. The filter
rewrites each record's text with those parts replaced by ``[redacted]``; the rest of the
path stays, so ``/trigger/[redacted]/orders/42`` still says which route was hit (a path
fragment is the sender's own route, not a credential).

Wired in ``LOGGING`` (config/settings/base.py) on the request loggers and on the root
handler, and into gunicorn's error and access logs by ``GunicornLogger``
(``--logger-class config.logging.GunicornLogger``, which ``manage.py serve`` passes).
"""

from __future__ import annotations

import logging
import re

from gunicorn.glogging import Logger as BaseGunicornLogger

REDACTED = "[redacted]"

# The credential runs to the next path separator, query, fragment, space or quote (log
# formats quote request lines). A signed result token holds ":" and base64url characters.
_SECRET_PATH_PART = re.compile(r"(/trigger/|/results/|/api-keys/)[^/?#\s\"'<>]+")
_REPLACEMENT = rf"\g<1>{REDACTED}"


def redact_secret_paths(text: str) -> str:
    return _SECRET_PATH_PART.sub(_REPLACEMENT, text)


class SecretPathRedactFilter(logging.Filter):
    """Rewrites a record's message (and traceback) with secret path parts redacted; never
    drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record is the handler's to report
            return True
        redacted = redact_secret_paths(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            # Formatted here (as Formatter.format would, once) so that a URL quoted in an
            # exception's message is redacted too; formatters reuse exc_text.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact_secret_paths(record.exc_text)
        return True


class GunicornLogger(BaseGunicornLogger):
    """gunicorn's logger with the redaction on its error and access logs: they are
    gunicorn's own loggers (not propagated to the root), and an access line holds the
    request line with the path."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for logger in (self.error_log, self.access_log):
            if not any(isinstance(f, SecretPathRedactFilter) for f in logger.filters):
                logger.addFilter(SecretPathRedactFilter())
