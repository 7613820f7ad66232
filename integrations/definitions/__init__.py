"""Integration definitions (SPEC §2): validate, import as a new version, export.

integration = integration_import(definition=yaml_text)        # DefinitionError if bad
text = definition_dump(integration_export(integration=integration), fmt="yaml")
"""

from integrations.definitions.diff import DefinitionDiff, DiffLine, integration_diff_previous
from integrations.definitions.errors import DefinitionError
from integrations.definitions.export import flow_export
from integrations.definitions.parsing import definition_dump, definition_parse
from integrations.definitions.services import (
    DefinitionImport,
    definition_normalize,
    integration_export,
    integration_import,
    integration_import_if_changed,
)
from integrations.definitions.validation import definition_validate

__all__ = [
    "DefinitionDiff",
    "DefinitionError",
    "DefinitionImport",
    "DiffLine",
    "definition_dump",
    "definition_normalize",
    "definition_parse",
    "definition_validate",
    "flow_export",
    "integration_diff_previous",
    "integration_export",
    "integration_import",
    "integration_import_if_changed",
]
