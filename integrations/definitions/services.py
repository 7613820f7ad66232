"""Importing and exporting integration definitions.

One mapping turns a validated definition into rows (``rows.rows_build``) and one turns rows
back into a definition (``export.rows_export``). Export omits every key that holds its
default, so ``definition_normalize(D)`` (rows built in memory, never saved) is exactly
what ``integration_export(integration_import(D))`` gives back.

Secrets (``secret`` variables' defaults, literal signing secrets) are sealed as rows are
built and left out of an export unless ``include_secrets`` is asked for (staff, through
``manage.py export_integration --include-secrets``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max

from integrations.definitions.errors import DefinitionError
from integrations.definitions.export import rows_export
from integrations.definitions.parsing import definition_parse
from integrations.definitions.rows import DefinitionRows, rows_build
from integrations.definitions.schema import DefinitionSpec
from integrations.definitions.validation import definition_validate
from integrations.models import ConfigVariable, Flow, Integration, Step

_Stored = TypeVar("_Stored")

# Two imports of one name may race for the same next version; the unique constraint stops
# the second, which then retries with the version after.
_VERSION_ATTEMPTS = 3


def integration_import(
    *, definition: dict | str | bytes, content_type: str | None = None
) -> Integration:
    """Validate a definition fully, then store it as the next version of its name:
    all rows in one transaction or none. Raises DefinitionError."""
    spec = _spec_read(definition, content_type)
    return _with_version_retries(lambda: _rows_save(rows_build(spec)))


def _spec_read(definition: dict | str | bytes, content_type: str | None) -> DefinitionSpec:
    if isinstance(definition, str | bytes):
        definition = definition_parse(text=definition, content_type=content_type)
    return definition_validate(definition=definition)


def _with_version_retries(store: Callable[[], _Stored]) -> _Stored:
    """``store()`` in a transaction, again when a concurrent import took the version
    number it chose (the unique name + version index)."""
    for attempt in range(_VERSION_ATTEMPTS):
        try:
            with transaction.atomic():
                return store()
        except IntegrityError:
            if attempt == _VERSION_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class DefinitionImport:
    integration: Integration
    created: bool


def integration_import_if_changed(
    *, definition: dict | str | bytes, content_type: str | None = None
) -> DefinitionImport:
    """What the import surfaces (API, ``manage.py import_integration``) do: a definition
    identical to the newest version of its name (compared normalized, secrets included,
    so a changed secret counts) gives that version back with ``created=False``; any other
    is stored as the next version. ``integration_import`` always stores (fixtures, demo).
    Raises DefinitionError."""
    spec = _spec_read(definition, content_type)

    def store() -> DefinitionImport:
        # Locked, so two identical imports at once do not both see a change.
        newest = (
            Integration.objects.select_for_update()
            .filter(name=spec.name)
            .order_by("-version")
            .first()
        )
        rows = rows_build(spec)
        if newest is not None and rows_export(rows, include_secrets=True) == integration_export(
            integration=newest, include_secrets=True
        ):
            return DefinitionImport(integration=newest, created=False)
        return DefinitionImport(integration=_rows_save(rows), created=True)

    return _with_version_retries(store)


def integration_export(
    *, integration: Integration, include_secrets: bool = False
) -> dict[str, Any]:
    """The integration as a definition (SPEC §2), keys holding defaults left out. Without
    ``include_secrets``, secret variables have no ``default`` and literal signing secrets
    no ``secret`` (a reference to a config variable is kept)."""
    flows = integration.flows.order_by("position").prefetch_related("steps")
    return rows_export(
        DefinitionRows(
            integration=integration,
            config_variables=list(integration.config_variables.order_by("position")),
            flows=[(flow, sorted(flow.steps.all(), key=lambda s: s.position)) for flow in flows],
        ),
        include_secrets=include_secrets,
    )


def definition_normalize(*, definition: Any, include_secrets: bool = False) -> dict[str, Any]:
    """A definition as export would write it after importing it. Raises DefinitionError."""
    return rows_export(
        rows_build(definition_validate(definition=definition)), include_secrets=include_secrets
    )


def _rows_save(rows: DefinitionRows) -> Integration:
    try:
        return _rows_write(rows)
    except ValidationError as error:
        # Validation should have caught it; if a model rule it does not know of fires,
        # answer as a definition error rather than a server error.
        raise DefinitionError(
            {"definition": "; ".join(f"{k}: {', '.join(v)}" for k, v in error.message_dict.items())}
        ) from error


def _rows_write(rows: DefinitionRows) -> Integration:
    integration = rows.integration
    latest = Integration.objects.filter(name=integration.name).aggregate(Max("version"))
    integration.version = (latest["version__max"] or 0) + 1
    # Uniqueness is the database's job here (see _VERSION_ATTEMPTS); the children were
    # checked for duplicates during validation and point at rows made in this transaction.
    integration.full_clean(validate_constraints=False)
    integration.save(force_insert=True)
    for variable in rows.config_variables:
        variable.integration = integration
        variable.full_clean(exclude=["integration"], validate_constraints=False)
    ConfigVariable.objects.bulk_create(rows.config_variables)
    steps: list[Step] = []
    for flow, flow_steps in rows.flows:
        flow.integration = integration
        flow.full_clean(exclude=["integration"], validate_constraints=False)
        for step in flow_steps:
            step.flow = flow
            step.full_clean(exclude=["flow"], validate_constraints=False)
            steps.append(step)
    Flow.objects.bulk_create([flow for flow, _ in rows.flows])
    Step.objects.bulk_create(steps)
    return integration
