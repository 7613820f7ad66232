"""The definition's ``retention`` key: validated like every key, stored on the version,
exported back as written."""

from __future__ import annotations

import pytest

from integrations.definitions import DefinitionError, integration_export, integration_import

pytestmark = pytest.mark.django_db


def definition(**top) -> dict:
    return {
        "name": "Kept Briefly",
        "flows": [{"name": "In", "trigger": {"type": "webhook"}, "steps": []}],
        **top,
    }


def test_retention_is_stored_and_round_trips():
    written = definition(retention={"days": 7, "storePayloads": False})
    integration = integration_import(definition=written)
    assert (integration.retention_days, integration.retention_store_payloads) == (7, False)
    exported = integration_export(integration=integration, include_secrets=False)
    assert exported["retention"] == {"days": 7, "storePayloads": False}
    again = integration_import(definition=exported)
    assert integration_export(integration=again, include_secrets=False) == exported


def test_defaults_are_not_exported_and_days_alone_round_trips():
    plain = integration_import(definition=definition())
    assert (plain.retention_days, plain.retention_store_payloads) == (None, True)
    assert "retention" not in integration_export(integration=plain, include_secrets=False)
    days = integration_import(definition=definition(name="Days", retention={"days": 90}))
    exported = integration_export(integration=days, include_secrets=False)
    assert exported["retention"] == {"days": 90}


@pytest.mark.parametrize(
    ("retention", "place"),
    [
        ({"days": 0}, "retention.days"),
        ({"days": "7"}, "retention.days"),
        ({"storePayloads": "no"}, "retention.storePayloads"),
        ({"keep": True}, "retention.keep"),
    ],
)
def test_a_bad_retention_is_refused_naming_the_place(retention, place):
    with pytest.raises(DefinitionError) as caught:
        integration_import(definition=definition(retention=retention))
    assert place in caught.value.errors
