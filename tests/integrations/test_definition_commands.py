"""The import_integration and export_integration management commands."""

from __future__ import annotations

import json
import re
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from integrations.definitions import integration_export, integration_import
from integrations.models import Flow, Integration

FIXTURES = Path(__file__).parent / "fixtures"

pytestmark = pytest.mark.django_db


def run(*args: str, **options: object) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def test_import_command_prints_name_version_and_id() -> None:
    out, _ = run("import_integration", str(FIXTURES / "render_notifier.yaml"))

    integration = Integration.objects.get()
    assert out.strip() == f"Imported Render Notifier v1 ({integration.id})"
    assert integration.flows.count() == 3


def test_import_command_of_a_changed_definition_makes_version_2(tmp_path: Path) -> None:
    run("import_integration", str(FIXTURES / "render_notifier.yaml"))
    changed = tmp_path / "changed.yaml"
    text = (FIXTURES / "render_notifier.yaml").read_text()
    changed.write_text(text.replace("description: Tells", "description: Now tells", 1))
    out, _ = run("import_integration", str(changed))
    assert re.fullmatch(r"Imported Render Notifier v2 \([0-9a-f-]{36}\)\n", out)


def test_import_command_reads_json_files(tmp_path: Path) -> None:
    path = tmp_path / "hook.json"
    path.write_text(
        json.dumps({"name": "Json Hook", "flows": [{"name": "F", "trigger": {"type": "webhook"}}]})
    )
    out, _ = run("import_integration", str(path))
    assert out.startswith("Imported Json Hook v1 (")


def test_import_command_reports_each_problem_and_stores_nothing() -> None:
    err = StringIO()
    with pytest.raises(CommandError, match="2 problem"):
        call_command(
            "import_integration", str(FIXTURES / "broken.yaml"), stdout=StringIO(), stderr=err
        )
    lines = err.getvalue().splitlines()
    assert lines[0].startswith("flows[0].trigger.schedule.cron: Cron '0 2 * *' has 4 fields")
    assert lines[1].startswith("flows[0].steps[0].action: Unknown action 'nosuch.action'")
    assert Integration.objects.count() == Flow.objects.count() == 0


def test_import_command_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="Cannot read"):
        run("import_integration", str(tmp_path / "absent.yaml"))


def _two_versions() -> tuple[Integration, Integration]:
    first = integration_import(definition=(FIXTURES / "render_notifier.yaml").read_text())
    changed = integration_export(integration=first)
    changed["description"] = "Second version."
    return first, integration_import(definition=changed)


def test_export_command_prints_the_latest_version_as_yaml() -> None:
    _, second = _two_versions()
    out, _ = run("export_integration", "Render Notifier")
    assert yaml.safe_load(out) == integration_export(integration=second)
    assert "description: Second version.\n" in out


def test_export_command_prints_a_chosen_version_as_json() -> None:
    first, _ = _two_versions()
    out, _ = run("export_integration", "Render Notifier", "--version", "1", "--format", "json")
    exported = json.loads(out)
    assert exported == integration_export(integration=first)
    assert exported["description"] == "Tells the customer's CRM when a render finishes."


def test_export_command_unknown_name_or_version_is_an_error() -> None:
    _two_versions()
    with pytest.raises(CommandError, match="No integration named 'Nope'"):
        run("export_integration", "Nope")
    with pytest.raises(CommandError, match="v3"):
        run("export_integration", "Render Notifier", "--version", "3")


def test_exported_file_imports_as_the_next_version(tmp_path: Path) -> None:
    _two_versions()
    out, _ = run("export_integration", "Render Notifier", "--version", "1")
    path = tmp_path / "exported.yaml"
    path.write_text(out)
    imported, _ = run("import_integration", str(path))
    assert imported.startswith("Imported Render Notifier v3 (")
    third = Integration.objects.get(name="Render Notifier", version=3)
    first = Integration.objects.get(name="Render Notifier", version=1)
    assert integration_export(integration=third) == integration_export(integration=first)


def test_import_command_reads_standard_input(monkeypatch: pytest.MonkeyPatch) -> None:
    text = (FIXTURES / "render_notifier.yaml").read_text()
    monkeypatch.setattr("sys.stdin", StringIO(text))
    out, _ = run("import_integration", "-")
    assert out.startswith("Imported Render Notifier v1 (")
