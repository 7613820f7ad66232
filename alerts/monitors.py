"""Creating and changing alert monitors (SPEC §9), for the API and the admin alike: one
check of what a monitor may hold, and one way its channels are replaced.

Channels are given as a whole list. A channel of the new list that matches one the
monitor has (a webhook by its URL, an email channel by its addresses) keeps its row, so a
webhook channel keeps its secret and a pending delivery's retries keep their channel;
the others are new rows with a new secret, and channels no longer listed are deleted.
A secret changes only by ``channel_secret_rotate``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import transaction

from alerts.events import EVENT_TYPES, threshold_errors
from alerts.models import (
    DEFAULT_COOLDOWN_SECONDS,
    AlertChannel,
    AlertMonitor,
    ChannelType,
    webhook_secret_generate,
)
from instances.models import Customer, Instance
from integrations.models import Flow, Integration

NAME_MAX_LENGTH = 200
FLOW_MAX_LENGTH = 200
URL_MAX_LENGTH = 2000
MAX_CHANNELS = 10
MAX_ADDRESSES = 20
MAX_COOLDOWN_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class ChannelSpec:
    type: str
    url: str = ""
    to: tuple[str, ...] = ()

    def key(self) -> tuple[str, str, tuple[str, ...]]:
        return (self.type, self.url, self.to if self.type == ChannelType.EMAIL else ())


@dataclass
class MonitorSpec:
    """Everything a monitor holds, as staff give it (scope rows already looked up)."""

    name: str
    event: str
    integration: Integration | None = None
    customer: Customer | None = None
    instance: Instance | None = None
    flow_name: str = ""
    threshold: dict[str, Any] = field(default_factory=dict)
    channels: list[ChannelSpec] = field(default_factory=list)
    cooldown_seconds: int = DEFAULT_COOLDOWN_SECONDS
    enabled: bool = True

    @classmethod
    def of(cls, monitor: AlertMonitor) -> MonitorSpec:
        return cls(
            name=monitor.name,
            event=monitor.event,
            integration=monitor.integration,
            customer=monitor.customer,
            instance=monitor.instance,
            flow_name=monitor.flow_name,
            threshold=dict(monitor.threshold or {}),
            channels=[
                ChannelSpec(channel.type, channel.url, tuple(channel.to))
                for channel in monitor.channels.all()
            ],
            cooldown_seconds=monitor.cooldown_seconds,
            enabled=monitor.enabled,
        )


class MonitorInvalid(Exception):
    """What is wrong, by input path (``channels[0].url``, ``threshold.count``...)."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("Invalid alert monitor.")
        self.fields = fields


_email = EmailValidator()
_url = URLValidator(schemes=["http", "https"])


def monitor_errors(spec: MonitorSpec) -> dict[str, str]:
    """Each problem of ``spec``, by the API's input path; empty when it may be saved."""
    errors: dict[str, str] = {}
    if not spec.name.strip():
        errors["name"] = "May not be blank."
    elif len(spec.name) > NAME_MAX_LENGTH:
        errors["name"] = f"At most {NAME_MAX_LENGTH} characters."
    if spec.event not in EVENT_TYPES:
        errors["event"] = f"Unknown event (one of: {', '.join(EVENT_TYPES)})."
    else:
        errors.update(threshold_errors(spec.event, spec.threshold))
    if not 0 <= spec.cooldown_seconds <= MAX_COOLDOWN_SECONDS:
        errors["cooldownSeconds"] = f"A whole number from 0 to {MAX_COOLDOWN_SECONDS}."
    errors.update(_scope_errors(spec))
    errors.update(channel_errors(spec.channels))
    return errors


def _scope_errors(spec: MonitorSpec) -> dict[str, str]:
    errors: dict[str, str] = {}
    instance = spec.instance
    if instance is not None:
        if spec.customer is not None and instance.customer_id != spec.customer.pk:
            errors["instance"] = "This instance is another customer's."
        if spec.integration is not None and instance.integration.name != spec.integration.name:
            errors["instance"] = "This instance runs another integration."
    if spec.flow_name:
        if len(spec.flow_name) > FLOW_MAX_LENGTH:
            return {**errors, "flow": f"At most {FLOW_MAX_LENGTH} characters."}
        flows = Flow.objects.filter(name=spec.flow_name)
        if instance is not None:
            flows = flows.filter(integration__name=instance.integration.name)
            where = f"integration {instance.integration.name!r}"
        elif spec.integration is not None:
            flows = flows.filter(integration__name=spec.integration.name)
            where = f"integration {spec.integration.name!r}"
        else:
            where = "any integration"
        if not flows.exists():
            errors["flow"] = f"No flow of this name in {where}."
    return errors


def channel_errors(channels: list[ChannelSpec]) -> dict[str, str]:
    errors: dict[str, str] = {}
    if len(channels) > MAX_CHANNELS:
        errors["channels"] = f"At most {MAX_CHANNELS} channels."
    for index, channel in enumerate(channels):
        at = f"channels[{index}]"
        if channel.type == ChannelType.WEBHOOK:
            if channel.to:
                errors[f"{at}.to"] = "A webhook channel has a url, not addresses."
            errors.update(_url_errors(channel.url, f"{at}.url"))
        elif channel.type == ChannelType.EMAIL:
            if channel.url:
                errors[f"{at}.url"] = "An email channel has addresses (to), not a url."
            errors.update(_addresses_errors(channel.to, f"{at}.to"))
        else:
            errors[f"{at}.type"] = f"One of: {', '.join(ChannelType.values)}."
    return errors


def _url_errors(url: str, at: str) -> dict[str, str]:
    if not url:
        return {at: "A webhook channel needs a url."}
    if len(url) > URL_MAX_LENGTH:
        return {at: f"At most {URL_MAX_LENGTH} characters."}
    try:
        _url(url)
    except ValidationError:
        return {at: "Must be an http or https URL."}
    if urlsplit(url).username is not None:
        # Credentials in the URL would be shown to every staff member and in every attempt.
        return {at: "May not hold a user name or password."}
    return {}


def _addresses_errors(to: tuple[str, ...], at: str) -> dict[str, str]:
    if not to:
        return {at: "At least one address."}
    if len(to) > MAX_ADDRESSES:
        return {at: f"At most {MAX_ADDRESSES} addresses."}
    errors: dict[str, str] = {}
    for index, address in enumerate(to):
        try:
            _email(address)
        except ValidationError:
            errors[f"{at}[{index}]"] = "Not an email address."
    return errors


def monitor_save(*, spec: MonitorSpec, monitor: AlertMonitor | None = None) -> AlertMonitor:
    """Create (``monitor`` None) or change a monitor to be ``spec``; raises
    ``MonitorInvalid`` with every problem and changes nothing then."""
    errors = monitor_errors(spec)
    if errors:
        raise MonitorInvalid(errors)
    monitor = monitor or AlertMonitor()
    monitor.name = spec.name
    monitor.event = spec.event
    monitor.integration = spec.integration
    monitor.customer = spec.customer
    monitor.instance = spec.instance
    monitor.flow_name = spec.flow_name
    monitor.threshold = spec.threshold
    monitor.cooldown_seconds = spec.cooldown_seconds
    monitor.enabled = spec.enabled
    with transaction.atomic():
        monitor.save()
        monitor_channels_set(monitor=monitor, channels=spec.channels)
    return monitor


def monitor_channels_set(*, monitor: AlertMonitor, channels: list[ChannelSpec]) -> None:
    """Replace the monitor's channels by ``channels``, in order; a listed channel that
    matches an existing one keeps its row and secret (see the module's docstring)."""
    existing: dict[tuple[str, str, tuple[str, ...]], list[AlertChannel]] = {}
    for channel in monitor.channels.select_for_update().order_by("position", "id"):
        spec = ChannelSpec(channel.type, channel.url, tuple(channel.to))
        existing.setdefault(spec.key(), []).append(channel)
    kept: list[int] = []
    for position, spec in enumerate(channels):
        matches = existing.get(spec.key())
        if matches:
            channel = matches.pop(0)
            if channel.position != position:
                channel.position = position
                channel.save(update_fields=["position"])
        else:
            channel = AlertChannel.objects.create(
                monitor=monitor,
                position=position,
                type=spec.type,
                url=spec.url if spec.type == ChannelType.WEBHOOK else "",
                to=list(spec.to) if spec.type == ChannelType.EMAIL else [],
            )
        kept.append(channel.pk)
    monitor.channels.exclude(pk__in=kept).delete()


def channel_secret_rotate(*, monitor: AlertMonitor, position: int) -> AlertChannel | None:
    """A new secret for the monitor's webhook channel at ``position`` (None: no channel
    there). The old secret stops at once: retries of pending deliveries are signed with
    the new one. Raises ``MonitorInvalid`` for an email channel, which has no secret."""
    with transaction.atomic():
        channels = list(monitor.channels.select_for_update().order_by("position", "id"))
        if not 0 <= position < len(channels):
            return None
        channel = channels[position]
        if channel.type != ChannelType.WEBHOOK:
            raise MonitorInvalid({"position": "Only a webhook channel has a secret."})
        channel.secret = webhook_secret_generate()
        channel.save(update_fields=["secret"])
    return channel
