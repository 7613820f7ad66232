"""Secrets keys (SPEC §5, §6): rotation re-seals every secret under the first key; a secret
sealed under a dropped key is refused; a bad key stops start-up, and without one a key is
generated into the data folder."""

from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.test import override_settings

from executions.models import Execution
from instances.lifecycle import instance_deploy
from instances.models import Instance
from instances.services import instance_update
from tests.fixtures.secrets import (
    CLEAR,
    DEFAULT_SECRET,
    INSTANCE_SECRET,
    SIGNING_SECRET,
    dump,
    post_signed,
    run_tokens,
)
from tests.fixtures.worker import ROOT

pytestmark = pytest.mark.django_db


def test_rotation_reseals_everything_under_the_first_key(client, settings, vault):
    _, instance = vault
    old_key = settings.TRIGGERFISH_SECRETS_KEYS[0]
    new_key = Fernet.generate_key().decode()
    before = dump()
    with override_settings(TRIGGERFISH_SECRETS_KEYS=[new_key, old_key]):
        out = io.StringIO()
        call_command("rotate_secrets_key", stdout=out)
        # Three instance values (one the copy of a default), a default, a signing secret.
        assert "Re-sealed 5 secret(s)" in out.getvalue()
    assert dump() != before
    with override_settings(TRIGGERFISH_SECRETS_KEYS=[new_key]):
        instance = Instance.objects.get(pk=instance.pk)
        assert run_tokens(instance) == {"api": INSTANCE_SECRET, "fallback": DEFAULT_SECRET}
        assert post_signed(client, instance, "Literal", SIGNING_SECRET).status_code == 200
        for secret in CLEAR:
            assert secret not in dump()


def test_rotation_reseals_staged_values_too(client, settings, vault):
    _, instance = vault
    staged_secret = "staged-secret-8c1f0b"
    instance_update(instance=instance, config_values={"Signing Secret": staged_secret})
    new_key = Fernet.generate_key().decode()
    with override_settings(TRIGGERFISH_SECRETS_KEYS=[new_key, *settings.TRIGGERFISH_SECRETS_KEYS]):
        call_command("rotate_secrets_key", stdout=io.StringIO())
    # The old key is dropped before the deploy that applies the staged value.
    with override_settings(TRIGGERFISH_SECRETS_KEYS=[new_key]):
        instance_deploy(instance=Instance.objects.get(pk=instance.pk))
        assert post_signed(client, instance, "Referenced", staged_secret).status_code == 200


def test_rotation_without_the_old_key_says_so(vault):
    with override_settings(TRIGGERFISH_SECRETS_KEYS=[Fernet.generate_key().decode()]):
        with pytest.raises(CommandError, match="open with none of the configured keys"):
            call_command("rotate_secrets_key", stdout=io.StringIO())


def test_a_signing_secret_sealed_under_a_dropped_key_refuses_the_request(client, vault):
    _, instance = vault
    with override_settings(TRIGGERFISH_SECRETS_KEYS=[Fernet.generate_key().decode()]):
        response = post_signed(client, instance, "Literal", SIGNING_SECRET)
    assert response.status_code == 401
    assert SIGNING_SECRET not in Execution.objects.get().error


@pytest.mark.parametrize("value", ["not-a-key", f"{'A' * 43}=,short"])
def test_a_bad_secrets_key_stops_start_up_naming_the_variable(tmp_path, value):
    env = {k: v for k, v in os.environ.items() if k != "TRIGGERFISH_SECRETS_KEY"}
    env.update(TRIGGERFISH_DATA_DIR=str(tmp_path), TRIGGERFISH_SECRETS_KEY=value)
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "TRIGGERFISH_SECRETS_KEY" in result.stderr
    assert "short" not in result.stderr.replace("shortcut", "")  # the value is not echoed


def test_without_the_variable_a_key_is_generated_into_the_data_folder(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TRIGGERFISH_SECRETS_KEY"}
    env.update(TRIGGERFISH_DATA_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    Fernet((tmp_path / "secrets_key").read_text().strip())  # a valid key
