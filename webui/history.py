"""An instance's execution history in the wizard: filtered by status and by day (UTC, the
zone the table shows), newest first, in pages.

The filters come from the query string, so a filtered page can be bookmarked and its
pager links keep the filters. A value that cannot be read is never a 500: it is named in
words, ignored, and the view answers 400 with the rest of the page as usual.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django import forms
from django.core.paginator import EmptyPage, Page, Paginator
from django.http import QueryDict
from django.utils.http import urlencode

from core.codec import unreadable_message
from executions.models import Execution, ExecutionStatus
from instances.models import Instance
from instances.tenancy import Viewer
from webui.tenancy import executions_for_user

HISTORY_PAGE_SIZE = 25
# The query-string names of the filters (``from`` is a Python keyword, hence the map).
FILTER_PARAMETERS = {"status": "status", "date_from": "from", "date_to": "to", "day": "day"}


STATUS_CHOICES = [("", "Any status"), *ExecutionStatus.choices]


class HistoryFilterForm(forms.Form):
    status = forms.ChoiceField(
        required=False,
        choices=STATUS_CHOICES,
        error_messages={"invalid_choice": "not one of the statuses listed"},
    )
    date_from = forms.DateField(
        required=False, input_formats=["%Y-%m-%d"], error_messages={"invalid": "not a date"}
    )
    date_to = forms.DateField(
        required=False, input_formats=["%Y-%m-%d"], error_messages={"invalid": "not a date"}
    )
    day = forms.DateField(
        required=False, input_formats=["%Y-%m-%d"], error_messages={"invalid": "not a date"}
    )
    page = forms.IntegerField(
        required=False,
        min_value=1,
        error_messages={"invalid": "not a whole number", "min_value": "pages start at 1"},
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", "is before the “from” date")
        return cleaned


FIELD_NAMES = {
    "status": "Status",
    "date_from": "From",
    "date_to": "To",
    "day": "Day",
    "page": "Page",
}


@dataclass(frozen=True)
class HistoryRow:
    execution: Execution
    # Why the stored trigger payload cannot be read, or None (the row is listed either way).
    payload_problem: str | None


@dataclass
class HistoryPage:
    rows: list[HistoryRow]
    page: Page
    # The filters in force, as the query string spells them (for the form and the links).
    filters: dict[str, str]
    # Each value that could not be read, in words; those filters are not applied.
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def filtered(self) -> bool:
        return any(self.filters.values())

    def query(self, **changes: Any) -> str:
        """The query string of this view with ``changes`` (e.g. another page)."""
        values = {name: value for name, value in self.filters.items() if value}
        if self.page.number > 1:
            values["page"] = str(self.page.number)
        values.update({name: str(value) for name, value in changes.items() if value})
        return urlencode(values)

    @property
    def previous_query(self) -> str:
        return self.query(page=self.page.previous_page_number()) if self.page.has_previous() else ""

    @property
    def next_query(self) -> str:
        return self.query(page=self.page.next_page_number()) if self.page.has_next() else ""

    @property
    def fragment_query(self) -> str:
        return self.query(fragment="1")


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def history_page(instance: Instance, *, user: Viewer, params: QueryDict) -> HistoryPage:
    """One page of the instance's executions the user may see, filtered by ``params``."""
    form = HistoryFilterForm(
        data={name: params.get(key, "") for name, key in FILTER_PARAMETERS.items()}
        | {"page": params.get("page", "")}
    )
    form.is_valid()
    cleaned = form.cleaned_data
    problems = [
        f"{FIELD_NAMES[name]}: {' '.join(map(str, errors))}; it is ignored."
        for name, errors in form.errors.items()
        if name in FIELD_NAMES
    ]
    executions = executions_for_user(user).filter(instance=instance)
    if status := cleaned.get("status"):
        executions = executions.filter(status=status)
    start = cleaned.get("day") or cleaned.get("date_from")
    end = cleaned.get("day") or cleaned.get("date_to")
    if start:
        executions = executions.filter(created_at__gte=_day_start(start))
    if end and end < date.max:
        executions = executions.filter(created_at__lt=_day_start(end + timedelta(days=1)))

    paginator = Paginator(
        executions.select_related("flow").order_by("-created_at", "-pk"), HISTORY_PAGE_SIZE
    )
    asked = cleaned.get("page") or 1
    notes = []
    try:
        page = paginator.page(asked)
    except EmptyPage:
        page = paginator.page(paginator.num_pages)
        notes.append(f"There is no page {asked}; this is the last page, {page.number}.")
    filters = {
        key: str(cleaned[name]) if cleaned.get(name) not in (None, "") else ""
        for name, key in FILTER_PARAMETERS.items()
    }
    rows = [
        HistoryRow(
            execution=execution, payload_problem=unreadable_message(execution.trigger_payload)
        )
        for execution in page.object_list
    ]
    return HistoryPage(rows=rows, page=page, filters=filters, problems=problems, notes=notes)
