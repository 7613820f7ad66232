"""The wizard's execution history: pages of 25, filters by status and by day (kept in the
query string), words instead of a 500 for values it cannot read, the full page vs the
fragment the pages refresh with, tenancy, and no query per row. In a browser:
test_history_browser.py."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from executions.models import Execution, ExecutionStatus, TriggerKind
from executions.services import execution_create
from tests.fixtures.wizard import SECRET
from webui.history import HISTORY_PAGE_SIZE

pytestmark = pytest.mark.django_db

DAY_ONE = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def _runs(instance, count: int, *, status: str, at: datetime, flow: str = "Order Created"):
    """``count`` executions of ``flow`` with ``status``, a minute apart from ``at`` on."""
    made = []
    for index in range(count):
        execution = execution_create(
            instance=instance,
            flow=instance.integration.flows.get(name=flow),
            trigger_kind=TriggerKind.WEBHOOK,
            payload={"body": {"data": {"n": index}}},
            enqueue=False,
        )
        Execution.objects.filter(pk=execution.pk).update(
            status=status, created_at=at + timedelta(minutes=index)
        )
        made.append(execution.pk)
    return made


@pytest.fixture
def deployed(make_instance, orders_integration):
    return make_instance(orders_integration, config_values={"Shop Secret": SECRET})


def _listed(html: str) -> list[str]:
    return re.findall(r'data-execution="([0-9a-f-]+)"', html)


@pytest.fixture
def history_url(deployed):
    return reverse("webui:history", args=[deployed.pk])


def test_history_pages_by_25_newest_first_with_previous_and_next(
    client, user_a, deployed, history_url
):
    made = _runs(deployed, HISTORY_PAGE_SIZE + 5, status="succeeded", at=DAY_ONE)
    newest_first = [str(pk) for pk in reversed(made)]
    client.force_login(user_a)

    first = client.get(history_url).content.decode()
    assert _listed(first) == newest_first[:HISTORY_PAGE_SIZE]
    assert "Runs 1\N{EN DASH}25 of 30" in first and "Page 1 of 2" in first
    assert 'href="?page=2#history"' in first and 'rel="prev"' not in first

    second = client.get(history_url, {"page": "2"}).content.decode()
    assert _listed(second) == newest_first[HISTORY_PAGE_SIZE:]
    assert 'href="?#history"' not in second  # "Newer" from page 2 is page 1: no page param
    assert 'rel="prev" href="?#history"' not in second
    assert re.search(r'rel="prev" href="\?[^"]*#history"', second)
    assert 'rel="next"' not in second

    # The instance page shows the same first page, with the same pager.
    page = client.get(reverse("webui:instance", args=[deployed.pk])).content.decode()
    assert _listed(page) == newest_first[:HISTORY_PAGE_SIZE]
    assert "Page 1 of 2" in page


def test_history_filters_by_status_and_day_and_keeps_them_in_the_links(
    client, user_a, deployed, history_url
):
    failed = _runs(deployed, 27, status=ExecutionStatus.FAILED, at=DAY_ONE)
    _runs(deployed, 3, status="succeeded", at=DAY_ONE)
    next_day = _runs(deployed, 2, status=ExecutionStatus.FAILED, at=DAY_ONE + timedelta(days=1))
    client.force_login(user_a)

    page = client.get(history_url, {"status": "failed", "from": "2026-11-20", "to": "2026-11-20"})
    html = page.content.decode()
    assert page.status_code == 200
    assert set(_listed(html)) <= {str(pk) for pk in failed}
    assert "Runs 1\N{EN DASH}25 of 27 matching the filters" in html
    assert 'href="?status=failed&amp;from=2026-11-20&amp;to=2026-11-20&amp;page=2#history"' in html
    assert '<option value="failed" selected>' in html
    assert 'name="from" value="2026-11-20"' in html

    html = client.get(history_url, {"day": "2026-11-21"}).content.decode()
    assert sorted(_listed(html)) == sorted(str(pk) for pk in next_day)
    html = client.get(history_url, {"from": "2026-11-21"}).content.decode()
    assert sorted(_listed(html)) == sorted(str(pk) for pk in next_day)
    html = client.get(history_url, {"to": "2026-11-19"}).content.decode()
    assert _listed(html) == [] and "No executions match these filters." in html
    html = client.get(history_url, {"status": "canceled"}).content.decode()
    assert "No executions match these filters." in html
    # The last day a date can be is an open end, not an overflow.
    assert client.get(history_url, {"to": "9999-12-31"}).status_code == 200


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"status": "bogus"}, "Status: not one of the statuses listed"),
        ({"status": "failed\x00"}, "Status: not one of the statuses listed"),
        ({"from": "2026-13-45"}, "From: not a date"),
        ({"to": "yesterday"}, "To: not a date"),
        ({"from": "2026-11-20\x00"}, "From: not a date"),
        ({"day": "\x00"}, "Day: not a date"),
        ({"from": "2026-11-20", "to": "2026-11-19"}, "To: is before the “from” date"),
        ({"page": "two"}, "Page: not a whole number"),
        ({"page": "0"}, "Page: pages start at 1"),
        ({"page": "9" * 5000}, "Page: not a whole number"),
    ],
)
@pytest.mark.parametrize("view", ["webui:history", "webui:instance"])
def test_values_the_history_cannot_read_are_named_not_a_500(
    client, user_a, deployed, params, words, view
):
    _runs(deployed, 2, status="succeeded", at=DAY_ONE)
    client.force_login(user_a)
    response = client.get(reverse(view, args=[deployed.pk]), params)
    html = response.content.decode()
    assert response.status_code == 400
    assert words in html and "it is ignored" in html
    assert len(_listed(html)) == 2  # the rest of the page as usual
    assert "\x00" not in html


def test_a_page_past_the_last_shows_the_last_in_words(client, user_a, deployed, history_url):
    _runs(deployed, HISTORY_PAGE_SIZE + 1, status="succeeded", at=DAY_ONE)
    client.force_login(user_a)
    response = client.get(history_url, {"page": str(10**30)})
    html = response.content.decode()
    assert response.status_code == 200
    assert f"There is no page {10**30}; this is the last page, 2." in html
    assert len(_listed(html)) == 1


def test_the_history_url_is_a_full_page_and_the_fragment_only_when_asked(
    client, user_a, deployed, history_url
):
    _runs(deployed, 1, status="succeeded", at=DAY_ONE)
    client.force_login(user_a)
    page = client.get(history_url, {"status": "succeeded"}).content.decode()
    assert "<!doctype html>" in page and "wizard.css" in page
    assert "<h1>Execution history</h1>" in page and f"{deployed.name} · Order Sync" in page
    # The page refreshes from the fragment of the same filters.
    assert f'data-history-url="{history_url}?status=succeeded&amp;fragment=1"' in page

    fragment = client.get(history_url, {"status": "succeeded", "fragment": "1"}).content.decode()
    assert "<html" not in fragment and "<form" not in fragment
    assert len(_listed(fragment)) == 1

    # An older page does not refresh itself (it stays as the user reads it).
    _runs(deployed, HISTORY_PAGE_SIZE, status="succeeded", at=DAY_ONE)
    assert "data-history-url" not in client.get(history_url, {"page": "2"}).content.decode()


@pytest.mark.parametrize("params", [{}, {"fragment": "1"}, {"status": "failed", "page": "2"}])
def test_another_customers_history_is_404(client, user_b, deployed, history_url, params):
    _runs(deployed, 1, status="failed", at=DAY_ONE)
    client.force_login(user_b)
    assert client.get(history_url, params).status_code == 404
    instance_url = reverse("webui:instance", args=[deployed.pk])
    assert client.get(instance_url, params).status_code == 404


def test_history_page_does_not_query_per_row(
    client, user_a, deployed, history_url, orders_integration, django_assert_max_num_queries
):
    _runs(deployed, 1, status="succeeded", at=DAY_ONE)
    client.force_login(user_a)
    client.get(history_url)  # the session and the user, as on any later request
    with CaptureQueriesContext(connection) as one_row:
        assert len(_listed(client.get(history_url).content.decode())) == 1
    _runs(deployed, HISTORY_PAGE_SIZE + 10, status="failed", at=DAY_ONE)
    _runs(deployed, 5, status="succeeded", at=DAY_ONE + timedelta(hours=1), flow="Nightly Sync")
    with django_assert_max_num_queries(len(one_row.captured_queries)):
        html = client.get(history_url).content.decode()
    assert len(_listed(html)) == HISTORY_PAGE_SIZE and "Nightly Sync" in html
    with django_assert_max_num_queries(len(one_row.captured_queries)):
        html = client.get(history_url, {"status": "failed", "page": "2"}).content.decode()
    assert len(_listed(html)) == 10
