"""Which saved or deleted rows move the routing version (``core.cache``).

Every process that can change such a row (web, worker, shell) must publish the change, so
``InstancesConfig.ready()`` connects these receivers; the cache itself, in ``core``, knows
no model.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save

from core.cache import routing_changed
from instances.models import ApiKey, Customer, Endpoint, Instance
from integrations.models import ConfigVariable, Flow, Integration, Step

# Step and ConfigVariable: what runs read of their definition (executions.run_definitions).
ROUTING_MODELS = (Endpoint, Instance, Customer, Integration, Flow, ApiKey, Step, ConfigVariable)


def routing_signals_connect() -> None:
    for model in ROUTING_MODELS:
        uid = f"routing-cache-{model.__name__}"
        post_save.connect(routing_changed, sender=model, dispatch_uid=uid + "-save")
        post_delete.connect(routing_changed, sender=model, dispatch_uid=uid + "-delete")
