"""Sending a notification down one channel, and retrying it (SPEC §9, "Channels").

Webhook: ``POST`` of the event's JSON, signed as Standard Webhooks sign (the
``standardwebhooks`` library, with the channel's ``whsec_`` secret): ``webhook-id`` is the
event's id, the same at every attempt, as is the body; ``webhook-timestamp`` is the
attempt's. A 2xx answer delivers it; anything else, or no answer within
``DELIVERY_TIMEOUT_SECONDS``, is retried on ``RETRY_DELAYS`` until 24 hours after the
event. Email: through Django's email backend (``EMAIL_URL``), retried the same way when
the server cannot be reached or refuses.

Each attempt is taken with a conditional UPDATE (``sending_since``), so the task sent at
the event and the periodic check's retry pass never send one attempt twice.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import Q
from django.utils import timezone
from standardwebhooks import Webhook

from alerts.models import AlertDelivery, ChannelType, DeliveryStatus

logger = logging.getLogger(__name__)

DELIVERY_TIMEOUT_SECONDS = 5.0
GIVE_UP_AFTER = timedelta(hours=24)
# After the first attempt, the n-th retry waits RETRY_DELAYS[n] seconds (the last repeats).
RETRY_DELAYS = (30, 120, 600, 1800, 3600, 7200, 14400)
# An attempt taken this long ago and never recorded (its worker died) may be taken again.
SENDING_EXPIRY = timedelta(minutes=2)
USER_AGENT = "Triggerfish-Alerts/1"


def delivery_attempt(delivery_id: int, *, now: datetime | None = None) -> AlertDelivery | None:
    """Make the delivery's next attempt if it is due and no one else is making it.
    Returns the delivery after the attempt, or None when there was nothing to do."""
    now = now or timezone.now()
    taken = (
        AlertDelivery.objects.filter(
            pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
        )
        .filter(Q(sending_since__isnull=True) | Q(sending_since__lt=now - SENDING_EXPIRY))
        .update(sending_since=now)
    )
    if not taken:
        return None
    delivery = AlertDelivery.objects.select_related("event", "channel").get(pk=delivery_id)
    try:
        status, error = _send(delivery)
    except Exception as exc:  # whatever went wrong, it is recorded and retried
        logger.exception("Alert delivery %s failed unexpectedly", delivery_id)
        status, error = None, f"{type(exc).__name__}: {exc}"
    finished = timezone.now()
    delivery.attempts = [
        *delivery.attempts,
        {"at": finished.isoformat(), "status": status, "error": error},
    ]
    delivered = error is None
    if delivered:
        delivery.status = DeliveryStatus.DELIVERED
        delivery.next_attempt_at = None
    else:
        delay = RETRY_DELAYS[min(len(delivery.attempts) - 1, len(RETRY_DELAYS) - 1)]
        retry_at = finished + timedelta(seconds=delay)
        if retry_at > delivery.event.occurred_at + GIVE_UP_AFTER:
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
        else:
            delivery.next_attempt_at = retry_at
    delivery.sending_since = None
    delivery.save(update_fields=["attempts", "status", "next_attempt_at", "sending_since"])
    return delivery


def deliveries_due(*, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Pending deliveries whose next attempt is due (indexed: status, next_attempt_at)."""
    now = now or timezone.now()
    return list(
        AlertDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .filter(Q(sending_since__isnull=True) | Q(sending_since__lt=now - SENDING_EXPIRY))
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def notice_bytes(payload: dict[str, Any]) -> str:
    """The body as sent: the same text at every attempt."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


def _send(delivery: AlertDelivery) -> tuple[int | None, str | None]:
    """(HTTP status or None, error or None)."""
    channel = delivery.channel
    if channel is None:
        return None, "The channel was removed."
    if delivery.channel_type == ChannelType.WEBHOOK:
        return _webhook_send(delivery)
    return _email_send(delivery)


def _webhook_send(delivery: AlertDelivery) -> tuple[int | None, str | None]:
    assert delivery.channel is not None
    body = notice_bytes(delivery.event.payload)
    message_id = str(delivery.event.pk)
    sent_at = timezone.now()
    signature = Webhook(delivery.channel.secret).sign(message_id, sent_at, body)
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": signature,
    }
    try:
        response = httpx.post(
            delivery.channel.url,
            content=body.encode(),
            headers=headers,
            timeout=DELIVERY_TIMEOUT_SECONDS,
            follow_redirects=False,
        )
    except httpx.HTTPError as exc:
        return None, f"No answer: {type(exc).__name__}: {exc}"[:1000]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"Answered {response.status_code}."


def _email_send(delivery: AlertDelivery) -> tuple[int | None, str | None]:
    assert delivery.channel is not None
    payload = delivery.event.payload
    flow = (payload.get("flow") or {}).get("name") or "-"
    integration = (payload.get("integration") or {}).get("name") or "-"
    customer = (payload.get("customer") or {}).get("name") or "-"
    subject = f"[Triggerfish] {payload['type']} — {integration} / {customer} / {flow}"
    message = EmailMessage(
        subject=subject,
        body=_email_text(payload),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=list(delivery.channel.to),
    )
    try:
        message.send(fail_silently=False)
    except Exception as exc:  # the SMTP server's refusal or absence: retried
        return None, f"{type(exc).__name__}: {exc}"[:1000]
    return None, None


def _email_text(payload: dict[str, Any]) -> str:
    execution = payload.get("execution") or {}
    customer = payload.get("customer") or {}
    integration = payload.get("integration") or {}
    lines = [
        f"{payload['type']} at {payload['occurredAt']}",
        f"Monitor: {payload['monitor']['name']}",
        f"Customer: {customer.get('name', '-')} ({customer.get('externalId') or '-'})",
        f"Instance: {(payload.get('instance') or {}).get('name', '-')}",
        f"Integration: {integration.get('name', '-')} v{integration.get('version', '-')}",
        f"Flow: {(payload.get('flow') or {}).get('name') or '-'}",
    ]
    if execution:
        lines.append(f"Execution: {execution['id']} ({execution['status']})")
        if execution.get("error"):
            lines.append(f"Error: {execution['error']}")
    if payload.get("suppressed"):
        lines.append(f"Held back since the last notice: {payload['suppressed']}")
    if payload.get("details"):
        lines.append("Details: " + json.dumps(payload["details"], sort_keys=True))
    return "\n".join(lines) + "\n"
