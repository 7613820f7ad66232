"""Webhook signature checks (the ``hmac_webhook`` trigger, SPEC §2).

Every check runs on the exact request bytes, before the body is parsed; compares in
constant time against every signature the request carries (senders rotating secrets send
several) without stopping at the first match; and, for senders that sign a timestamp,
refuses one outside the tolerance in either direction (replays and clock games).

A generic scheme is ``{header, algorithm, secret, encoding, prefix}``; a preset verifies
exactly as that sender signs. The presets are registered here, once (``PRESETS``), and the
definition schema and validation derive their names and which sign a timestamp from it:

- ``stripe``: ``{t}.{body}``, hex, in ``Stripe-Signature: t=…,v1=…[,v1=…]``;
- ``github``: the body, hex, in ``X-Hub-Signature-256: sha256=…``; delivery id
  ``X-GitHub-Delivery``;
- ``shopify``: the body, base64, in ``X-Shopify-Hmac-Sha256``; delivery id
  ``X-Shopify-Webhook-Id``;
- ``slack``: ``v0:{ts}:{body}``, hex, in ``X-Slack-Signature: v0=…`` with
  ``X-Slack-Request-Timestamp``;
- ``standard_webhooks``: ``{id}.{ts}.{body}``, base64, in ``webhook-signature: v1,… v1,…``
  with ``webhook-id`` (the delivery id) and ``webhook-timestamp``; ``whsec_`` secrets.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

DEFAULT_TOLERANCE_SECONDS = 300


class SignatureError(Exception):
    """The request's signature is missing, malformed, stale or wrong. The message says
    which, and never contains the secret or the expected signature."""


@dataclass(frozen=True)
class Verified:
    """A request whose signature checked out; ``delivery_id`` is the sender's id of this
    delivery when it sends one (repeats are answered like a repeated Idempotency-Key)."""

    delivery_id: str | None = None


Verify = Callable[[dict, bytes, Mapping[str, str], float], Verified]


@dataclass(frozen=True)
class Preset:
    """A sender's signing scheme. ``timestamped``: the signature covers a timestamp, so a
    tolerance applies (``toleranceSeconds``, default DEFAULT_TOLERANCE_SECONDS)."""

    name: str
    verify: Verify
    timestamped: bool = False
    label: str = ""  # the sender's name as people write it ("GitHub")


# Every preset a definition may name, in the order docs and error messages list them.
PRESETS: dict[str, Preset] = {}


def preset(name: str, *, label: str, timestamped: bool = False) -> Callable[[Verify], Verify]:
    """Register the decorated function as the ``name`` preset's check."""

    def register(verify: Verify) -> Verify:
        if name in PRESETS:
            raise ValueError(f"Signature preset {name!r} is registered twice.")
        PRESETS[name] = Preset(name, verify, timestamped, label)
        return verify

    return register


def preset_is_timestamped(name: str) -> bool:
    registered = PRESETS.get(name)
    return registered is not None and registered.timestamped


def _mac(secret: bytes, content: bytes, algorithm: str = "sha256") -> bytes:
    return hmac.new(secret, content, algorithm).digest()


def _any_matches(expected: bytes, candidates: list[bytes]) -> bool:
    # Look at every candidate whatever the outcome, so timing says nothing about which.
    matched = False
    for candidate in candidates:
        matched |= hmac.compare_digest(expected, candidate)
    return matched


def _header(headers: Mapping[str, str], name: str) -> str:
    value = headers.get(name.lower())
    if not value:
        raise SignatureError(f"Missing signature header {name}.")
    return value


def _check_timestamp(raw: str, tolerance: int, now: float) -> int:
    try:
        timestamp = int(raw)
    except (TypeError, ValueError) as error:
        raise SignatureError("The signature timestamp is not a number.") from error
    if abs(now - timestamp) > tolerance:
        raise SignatureError("The signature timestamp is outside the tolerance.")
    return timestamp


def _decode_all(values: list[str], decode: Callable[[str], bytes]) -> list[bytes]:
    decoded = []
    for value in values:
        try:
            decoded.append(decode(value))
        except (ValueError, binascii.Error):
            continue  # a malformed one simply cannot match
    return decoded


def _hex(value: str) -> bytes:
    return bytes.fromhex(value)


def _base64(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


def _verify_generic(
    settings: dict, body: bytes, headers: Mapping[str, str], now: float
) -> Verified:
    algorithm = settings["algorithm"]
    try:
        expected = _mac(settings["secret"].encode(), body, algorithm)
    except (ValueError, TypeError) as error:  # validated at import; a defensive message
        raise SignatureError(f"Unsupported HMAC algorithm {algorithm!r}.") from error
    prefix = settings.get("prefix") or ""
    values = []
    for part in re.split(r"[,\s]+", _header(headers, settings["header"]).strip()):
        if part:
            values.append(part[len(prefix) :] if prefix and part.startswith(prefix) else part)
    decode = _base64 if settings.get("encoding") == "base64" else _hex
    if not _any_matches(expected, _decode_all(values, decode)):
        raise SignatureError("The signature does not match.")
    return Verified()


@preset("stripe", label="Stripe", timestamped=True)
def _verify_stripe(settings: dict, body: bytes, headers: Mapping[str, str], now: float) -> Verified:
    items = [item.split("=", 1) for item in _header(headers, "Stripe-Signature").split(",")]
    pairs = [(key.strip(), value.strip()) for key, value in (i for i in items if len(i) == 2)]
    timestamps = [value for key, value in pairs if key == "t"]
    if len(timestamps) != 1:
        raise SignatureError("Stripe-Signature has no single timestamp.")
    timestamp = _check_timestamp(timestamps[0], _tolerance(settings), now)
    expected = _mac(settings["secret"].encode(), f"{timestamp}.".encode() + body)
    if not _any_matches(expected, _decode_all([v for k, v in pairs if k == "v1"], _hex)):
        raise SignatureError("The signature does not match.")
    return Verified()


@preset("github", label="GitHub")
def _verify_github(settings: dict, body: bytes, headers: Mapping[str, str], now: float) -> Verified:
    value = _header(headers, "X-Hub-Signature-256")
    if not value.startswith("sha256="):
        raise SignatureError("X-Hub-Signature-256 is not a sha256= signature.")
    expected = _mac(settings["secret"].encode(), body)
    if not _any_matches(expected, _decode_all([value[len("sha256=") :]], _hex)):
        raise SignatureError("The signature does not match.")
    return Verified(delivery_id=headers.get("x-github-delivery") or None)


@preset("shopify", label="Shopify")
def _verify_shopify(
    settings: dict, body: bytes, headers: Mapping[str, str], now: float
) -> Verified:
    value = _header(headers, "X-Shopify-Hmac-Sha256")
    expected = _mac(settings["secret"].encode(), body)
    if not _any_matches(expected, _decode_all([value.strip()], _base64)):
        raise SignatureError("The signature does not match.")
    return Verified(delivery_id=headers.get("x-shopify-webhook-id") or None)


@preset("slack", label="Slack", timestamped=True)
def _verify_slack(settings: dict, body: bytes, headers: Mapping[str, str], now: float) -> Verified:
    raw_timestamp = _header(headers, "X-Slack-Request-Timestamp")
    timestamp = _check_timestamp(raw_timestamp, _tolerance(settings), now)
    expected = _mac(settings["secret"].encode(), f"v0:{timestamp}:".encode() + body)
    values = [
        part[len("v0=") :]
        for part in _header(headers, "X-Slack-Signature").split(",")
        if part.strip().startswith("v0=")
    ]
    if not _any_matches(expected, _decode_all([v.strip() for v in values], _hex)):
        raise SignatureError("The signature does not match.")
    return Verified()


def _standard_webhooks_key(secret: str) -> bytes:
    # Standard Webhooks secrets are "whsec_" + base64 of the key bytes.
    encoded = secret[len("whsec_") :] if secret.startswith("whsec_") else secret
    try:
        return base64.b64decode(encoded, validate=True)
    except (ValueError, binascii.Error) as error:
        raise SignatureError("The configured Standard Webhooks secret is not base64.") from error


@preset("standard_webhooks", label="Standard Webhooks", timestamped=True)
def _verify_standard_webhooks(
    settings: dict, body: bytes, headers: Mapping[str, str], now: float
) -> Verified:
    message_id = _header(headers, "webhook-id")
    raw_timestamp = _header(headers, "webhook-timestamp")
    timestamp = _check_timestamp(raw_timestamp, _tolerance(settings), now)
    content = f"{message_id}.{timestamp}.".encode() + body
    expected = _mac(_standard_webhooks_key(settings["secret"]), content)
    values = [
        part.split(",", 1)[1]
        for part in _header(headers, "webhook-signature").split()
        if part.startswith("v1,")
    ]
    if not _any_matches(expected, _decode_all(values, _base64)):
        raise SignatureError("The signature does not match.")
    return Verified(delivery_id=message_id)


def _tolerance(settings: dict) -> int:
    return int(settings.get("toleranceSeconds") or DEFAULT_TOLERANCE_SECONDS)


def signature_verify(
    *,
    settings: dict,
    body: bytes,
    headers: Mapping[str, str],
    now: float | None = None,
) -> Verified:
    """Check a request against a flow's ``hmac`` settings (secret already resolved).
    ``headers`` are keyed by lower-case name. Raises SignatureError."""
    now = time.time() if now is None else now
    name = settings.get("preset")
    if name:
        registered = PRESETS.get(name)
        if registered is None:
            raise SignatureError(f"Unknown signature preset {name!r}.")
        return registered.verify(settings, body, headers, now)
    return _verify_generic(settings, body, headers, now)
