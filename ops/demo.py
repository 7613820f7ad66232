"""The demo that ``manage.py serve`` loads on a fresh database.

It exercises the whole path a real integration takes: a definition imported from YAML,
a customer, an instance of the integration for that customer, and a deploy that creates
the webhook endpoint and runs the instance's deploy-trigger flow. ``demo_describe``
finds it again on later starts, so the start-up banner can always print a working URL.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from instances.endpoints import instance_webhook_context
from instances.lifecycle import instance_deploy
from instances.models import Instance
from instances.services import customer_create, instance_create
from integrations.definitions import integration_import

DEMO_INTEGRATION_NAME = "Demo Echo"
DEMO_CUSTOMER_EXTERNAL_ID = "demo"
DEMO_CUSTOMER_NAME = "Demo Customer"
DEMO_INSTANCE_NAME = "Demo Echo"
DEMO_WEBHOOK_FLOW = "Echo"

DEMO_DEFINITION = f"""\
name: {DEMO_INTEGRATION_NAME}
description: >-
  Loaded by `manage.py serve` on a fresh database. The Echo flow logs the body it
  receives and returns it; the deploy flow logs the instance's webhook URLs.
endpointType: flow_specific
flows:
  - name: {DEMO_WEBHOOK_FLOW}
    trigger:
      type: webhook
      synchronous: false
      endpointSecurity: customer_optional
    steps:
      - name: Log Body
        action: log.write
        inputs:
          level: info
          message: "Received: {{{{ trigger.body.data }}}}"
      - name: Reply
        action: flow.return
        inputs:
          data: "{{{{ trigger.body.data }}}}"
  - name: On Deploy
    trigger:
      type: instance_deploy
    steps:
      - name: Log Webhook URLs
        action: log.write
        inputs:
          level: info
          message: "Deployed; webhook URLs: {{{{ trigger.webhookUrls }}}}"
"""


def demo_load() -> dict[str, Any]:
    """Import the demo integration, create its customer and instance, and deploy it.

    Returns what ``demo_describe`` returns. Meant for an empty database: a second call
    imports a new version of the integration and fails on the customer's unique
    external id, leaving nothing half-made (one transaction).
    """
    with transaction.atomic():
        integration = integration_import(
            definition=DEMO_DEFINITION, content_type="application/yaml"
        )
        customer = customer_create(name=DEMO_CUSTOMER_NAME, external_id=DEMO_CUSTOMER_EXTERNAL_ID)
        instance = instance_create(
            integration=integration, customer=customer, name=DEMO_INSTANCE_NAME
        )
        instance_deploy(instance=instance, user=None)
    described = demo_describe()
    assert described is not None  # just created, in the same database
    return described


def demo_describe() -> dict[str, Any] | None:
    """The demo instance and its webhook URL, or None when the demo is not loaded (or was
    removed, or is not deployed)."""
    instance = (
        Instance.objects.running()
        .select_related("customer", "integration")
        .filter(
            customer__external_id=DEMO_CUSTOMER_EXTERNAL_ID,
            integration__name=DEMO_INTEGRATION_NAME,
        )
        .first()
    )
    if instance is None:
        return None
    context = instance_webhook_context(instance)
    webhook_url = context["webhookUrls"].get(DEMO_WEBHOOK_FLOW)
    if webhook_url is None:
        return None
    return {
        "integration": str(instance.integration),
        "integration_id": str(instance.integration_id),
        "customer": instance.customer.name,
        "customer_external_id": instance.customer.external_id,
        "instance": instance.name,
        "instance_id": str(instance.id),
        "flow": DEMO_WEBHOOK_FLOW,
        "webhook_url": webhook_url,
        "webhook_urls": context["webhookUrls"],
        "api_keys": context["webhookApiKeys"].get(DEMO_WEBHOOK_FLOW, []),
    }
