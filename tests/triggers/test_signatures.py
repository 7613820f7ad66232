"""Signature checks, with requests signed by the senders' own libraries (stripe,
standardwebhooks, slack_sdk) or by their documented examples — never by our own code."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime

import pytest
import stripe
from slack_sdk.signature import SignatureVerifier
from standardwebhooks.webhooks import Webhook

from integrations.signatures import SignatureError, signature_verify

BODY = b'{"item":"widget","quantity":5,"customer":"abc-123"}'
NOW = 1_800_000_000


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers.items()}


class TestGeneric:
    settings = {
        "header": "x-hmac-sha256",
        "algorithm": "sha256",
        "secret": "AC49CB66-511F-4085-9119-360B1B142F4B",
        "encoding": "hex",
        "prefix": "",
    }

    def test_the_documented_example_verifies(self):
        expected = "dc838d5b2ee53f55b5bcd77271505f52cd4c6c5123a867d9088fb70ac580f5bf"
        assert signature_verify(
            settings=self.settings, body=BODY, headers={"x-hmac-sha256": expected}
        )

    def test_a_tampered_body_fails(self):
        expected = "dc838d5b2ee53f55b5bcd77271505f52cd4c6c5123a867d9088fb70ac580f5bf"
        with pytest.raises(SignatureError, match="does not match"):
            signature_verify(
                settings=self.settings, body=BODY + b" ", headers={"x-hmac-sha256": expected}
            )

    def test_missing_header_fails(self):
        with pytest.raises(SignatureError, match="Missing signature header"):
            signature_verify(settings=self.settings, body=BODY, headers={})

    def test_prefix_base64_other_algorithm_and_rotation(self):
        settings = {
            **self.settings,
            "algorithm": "sha512",
            "encoding": "base64",
            "prefix": "sha512=",
        }
        good = base64.b64encode(
            hmac.new(b"AC49CB66-511F-4085-9119-360B1B142F4B", BODY, "sha512").digest()
        )
        old = base64.b64encode(hmac.new(b"old-secret", BODY, "sha512").digest())
        header = f"sha512={old.decode()}, sha512={good.decode()}"
        assert signature_verify(settings=settings, body=BODY, headers={"x-hmac-sha256": header})

    def test_garbage_signature_fails_cleanly(self):
        with pytest.raises(SignatureError):
            signature_verify(settings=self.settings, body=BODY, headers={"x-hmac-sha256": "zz!!"})


class TestStripe:
    secret = "whsec_test_secret"
    settings = {"preset": "stripe", "secret": secret, "toleranceSeconds": 300}

    def test_signed_by_stripe_library_verifies(self):
        header = stripe.WebhookSignature.generate_signature_header(BODY.decode(), self.secret, NOW)
        signature_verify(
            settings=self.settings, body=BODY, headers={"stripe-signature": header}, now=NOW
        )

    def test_rotation_two_v1_signatures(self):
        old = stripe.WebhookSignature.generate_signature_header(BODY.decode(), "whsec_old", NOW)
        new = stripe.WebhookSignature.generate_signature_header(BODY.decode(), self.secret, NOW)
        header = old + "," + new.split(",", 1)[1]  # t=…,v1=<old>,v1=<new>
        signature_verify(
            settings=self.settings, body=BODY, headers={"stripe-signature": header}, now=NOW
        )

    @pytest.mark.parametrize("shift", [-301, 301])
    def test_stale_or_future_timestamp_fails(self, shift):
        header = stripe.WebhookSignature.generate_signature_header(
            BODY.decode(), self.secret, NOW + shift
        )
        with pytest.raises(SignatureError, match="tolerance"):
            signature_verify(
                settings=self.settings, body=BODY, headers={"stripe-signature": header}, now=NOW
            )

    def test_wrong_secret_and_tampered_body_fail(self):
        header = stripe.WebhookSignature.generate_signature_header(
            BODY.decode(), "whsec_wrong", NOW
        )
        with pytest.raises(SignatureError):
            signature_verify(
                settings=self.settings, body=BODY, headers={"stripe-signature": header}, now=NOW
            )
        header = stripe.WebhookSignature.generate_signature_header(BODY.decode(), self.secret, NOW)
        with pytest.raises(SignatureError):
            signature_verify(
                settings=self.settings, body=b"{}", headers={"stripe-signature": header}, now=NOW
            )

    def test_our_acceptance_agrees_with_stripes_verifier(self):
        header = stripe.WebhookSignature.generate_signature_header(BODY.decode(), self.secret, NOW)
        stripe.WebhookSignature.verify_header(BODY.decode(), header, self.secret, tolerance=None)
        signature_verify(
            settings=self.settings, body=BODY, headers={"stripe-signature": header}, now=NOW
        )


class TestGithub:
    # GitHub's documented example: secret "It's a Secret to Everybody", payload
    # "Hello, World!" signs to this sha256.
    settings = {"preset": "github", "secret": "It's a Secret to Everybody"}
    documented = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

    def test_documented_example_verifies_with_delivery_id(self):
        verified = signature_verify(
            settings=self.settings,
            body=b"Hello, World!",
            headers={"x-hub-signature-256": self.documented, "x-github-delivery": "d-1"},
        )
        assert verified.delivery_id == "d-1"

    def test_wrong_scheme_and_tampered_body_fail(self):
        with pytest.raises(SignatureError):
            signature_verify(
                settings=self.settings,
                body=b"Hello, World!",
                headers={"x-hub-signature-256": self.documented.replace("sha256=", "sha1=")},
            )
        with pytest.raises(SignatureError):
            signature_verify(
                settings=self.settings,
                body=b"Hello, World?",
                headers={"x-hub-signature-256": self.documented},
            )


class TestShopify:
    # Shopify's documented scheme: base64(HMAC-SHA256(secret, raw body)) in the header.
    settings = {"preset": "shopify", "secret": "shpss_secret"}

    def signed(self, body: bytes, secret: str = "shpss_secret") -> str:
        return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()

    def test_verifies_with_delivery_id(self):
        headers = {"x-shopify-hmac-sha256": self.signed(BODY), "x-shopify-webhook-id": "w-1"}
        assert (
            signature_verify(settings=self.settings, body=BODY, headers=headers).delivery_id
            == "w-1"
        )

    def test_wrong_secret_fails(self):
        with pytest.raises(SignatureError):
            signature_verify(
                settings=self.settings,
                body=BODY,
                headers={"x-shopify-hmac-sha256": self.signed(BODY, "other")},
            )


class TestSlack:
    secret = "8f742231b10e8888abcd99yyyzzz85a5"
    settings = {"preset": "slack", "secret": secret, "toleranceSeconds": 300}

    def headers(self, body: bytes, timestamp: int, secret: str | None = None) -> dict[str, str]:
        verifier = SignatureVerifier(signing_secret=secret or self.secret)
        signature = verifier.generate_signature(timestamp=str(timestamp), body=body)
        return {"x-slack-request-timestamp": str(timestamp), "x-slack-signature": signature}

    def test_signed_by_slack_sdk_verifies(self):
        now = int(time.time())
        headers = self.headers(BODY, now)
        assert SignatureVerifier(self.secret).is_valid(
            BODY, headers["x-slack-request-timestamp"], headers["x-slack-signature"]
        )
        signature_verify(settings=self.settings, body=BODY, headers=headers, now=now)

    def test_stale_wrong_and_missing_fail(self):
        with pytest.raises(SignatureError, match="tolerance"):
            signature_verify(
                settings=self.settings, body=BODY, headers=self.headers(BODY, NOW - 600), now=NOW
            )
        with pytest.raises(SignatureError):
            signature_verify(
                settings=self.settings,
                body=BODY,
                headers=self.headers(BODY, NOW, "x" * 32),
                now=NOW,
            )
        with pytest.raises(SignatureError, match="Missing"):
            signature_verify(settings=self.settings, body=BODY, headers={}, now=NOW)


class TestStandardWebhooks:
    secret = "whsec_" + base64.b64encode(b"standard-webhooks-key-bytes!").decode()
    settings = {"preset": "standard_webhooks", "secret": secret, "toleranceSeconds": 300}

    def headers(self, secret: str, message_id: str = "msg_1", at: int = NOW) -> dict[str, str]:
        signature = Webhook(secret).sign(message_id, datetime.fromtimestamp(at, UTC), BODY.decode())
        return {
            "webhook-id": message_id,
            "webhook-timestamp": str(at),
            "webhook-signature": signature,
        }

    def test_signed_by_the_reference_library_verifies(self):
        verified = signature_verify(
            settings=self.settings, body=BODY, headers=self.headers(self.secret), now=NOW
        )
        assert verified.delivery_id == "msg_1"

    def test_several_signatures_one_valid(self):
        other = "whsec_" + base64.b64encode(b"another key").decode()
        headers = self.headers(self.secret)
        headers["webhook-signature"] = (
            self.headers(other)["webhook-signature"] + " " + headers["webhook-signature"]
        )
        signature_verify(settings=self.settings, body=BODY, headers=headers, now=NOW)

    def test_stale_and_wrong_fail(self):
        with pytest.raises(SignatureError, match="tolerance"):
            signature_verify(
                settings=self.settings,
                body=BODY,
                headers=self.headers(self.secret, at=NOW - 301),
                now=NOW,
            )
        other = "whsec_" + base64.b64encode(b"another key").decode()
        with pytest.raises(SignatureError):
            signature_verify(
                settings=self.settings, body=BODY, headers=self.headers(other), now=NOW
            )
