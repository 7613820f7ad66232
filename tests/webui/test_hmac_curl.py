"""The wizard's "Try it with curl" for an ``hmac_webhook`` flow: the shown snippet, with
its secret placeholder filled in, is run by bash (openssl and curl for real) against a
real gunicorn, and the call is accepted — not refused 401 as an unsigned one is. Presets
are signed by their sender: the page says so and offers no unsigned command."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest
from django.conf import settings
from django.urls import reverse

from executions.models import Execution
from webui.services import instance_flow_secrets, instance_flows

SECRET = "s3cr€t with 'quotes' and $dollars"

pytestmark = pytest.mark.skipif(
    not (shutil.which("openssl") and shutil.which("curl")), reason="needs openssl and curl"
)


def hmac_flow(hmac: dict) -> dict:
    return {
        "name": "Signed",
        "trigger": {"type": "hmac_webhook", "hmac": hmac},
        "steps": [{"name": "Log", "action": "log.write", "inputs": {"message": "signed"}}],
    }


def run_snippet(snippet: str, *, secret: str, server_url: str) -> subprocess.CompletedProcess:
    lines = snippet.splitlines()
    assert lines[0].startswith("SECRET="), snippet
    # What the user does: put the secret in, then paste the rest into a shell.
    filled = "\n".join(
        [
            'SECRET="$SIGNING_SECRET"',
            *[line.replace(settings.BASE_URL, server_url) for line in lines[1:]],
        ]
    )
    return subprocess.run(
        ["bash", "-c", filled + " -s -w '\\n%{http_code}'"],
        env={"PATH": "/usr/bin:/bin", "SIGNING_SECRET": secret},
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "scheme",
    [
        {"header": "x-hmac-sha256", "algorithm": "sha256", "encoding": "hex"},
        {"header": "X-Sig", "algorithm": "sha512", "encoding": "base64", "prefix": "sha512="},
        {"header": "X-Sig", "algorithm": "sha3_256", "encoding": "hex", "prefix": "v1="},
    ],
    ids=["sha256-hex", "sha512-base64-prefix", "sha3-hex-prefix"],
)
def test_the_shown_openssl_snippet_signs_a_call_the_flow_accepts(
    make_integration, make_instance, start_live_server, scheme
):
    integration = make_integration(
        name="Signed Hooks",
        configVariables=[{"key": "Signing Secret", "type": "secret", "required": True}],
        flows=[hmac_flow({**scheme, "secret": "{{ configVars['Signing Secret'] }}"})],
    )
    instance = make_instance(integration, config_values={"Signing Secret": SECRET})
    server = start_live_server(workers=1)

    (view,) = instance_flows(instance)
    assert "openssl dgst" in view.curl_masked
    assert "<your Signing Secret setting>" in view.curl_masked
    assert SECRET not in view.curl_masked
    assert scheme["header"] in view.signature_note

    result = run_snippet(view.curl_masked, secret=SECRET, server_url=server.url)
    body, status = result.stdout.rsplit("\n", 1)
    assert status == "200", (result.stdout, result.stderr)
    execution = Execution.objects.get(pk=json.loads(body)["executionId"])
    assert not execution.refused_at_trigger

    # The same snippet with a wrong secret is what an unsigned call gets: 401.
    wrong = run_snippet(view.curl_masked, secret="not it", server_url=server.url)
    assert wrong.stdout.rsplit("\n", 1)[1] == "401"


@pytest.mark.django_db
def test_the_revealed_command_is_signed_too_and_a_literal_secret_is_not_shown(
    make_integration, make_instance
):
    literal = "vendor-literal-secret-123"
    integration = make_integration(
        flows=[hmac_flow({"header": "x-sig", "algorithm": "sha256", "secret": literal})]
    )
    instance = make_instance(integration)
    revealed = instance_flow_secrets(instance, "Signed")["curl"]
    assert "openssl dgst -sha256 -hmac" in revealed
    assert "<the signing secret your vendor gave you>" in revealed
    assert literal not in revealed


@pytest.mark.django_db
def test_a_preset_flow_says_its_sender_signs_and_offers_no_unsigned_curl(
    make_integration, make_instance, user_a, client
):
    integration = make_integration(flows=[hmac_flow({"preset": "github", "secret": "gh"})])
    instance = make_instance(integration)
    (view,) = instance_flows(instance)
    assert view.curl_masked == ""
    assert "GitHub" in view.signature_note and "X-Hub-Signature-256" in view.signature_note

    client.force_login(user_a)
    page = client.get(reverse("webui:instance", args=[instance.pk])).content.decode()
    assert "Try it with curl" not in page
    assert re.search(r"signed by GitHub \(the X-Hub-Signature-256 header\)", page)
