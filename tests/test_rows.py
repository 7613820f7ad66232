"""core.rows.rows_update: many rows' fields in one executemany, converted as Django's
``update()`` converts them (JSON values and SQL NULL, times, booleans), touching only the
named fields of the named rows."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.rows import rows_update
from instances.models import PollState

pytestmark = pytest.mark.django_db

AT = datetime(2026, 7, 4, 12, 0, tzinfo=UTC)


@pytest.fixture
def states(make_integration, make_instance):
    instance = make_instance(
        make_integration(
            {
                "name": "Rows",
                "flows": [
                    {
                        "name": "Tick",
                        "trigger": {"type": "webhook"},
                        "steps": [
                            {"name": "Log", "action": "log.write", "inputs": {"message": "x"}}
                        ],
                    }
                ],
            }
        )
    )
    return [
        PollState.objects.create(instance=instance, flow_name=f"Flow {n}", cursor=n)
        for n in range(3)
    ]


def test_each_row_gets_its_own_values_and_nothing_else_moves(states):
    first, second, third = states
    first.cursor, first.primed, first.last_polled_at = {"page": 2, "after": "x"}, True, AT
    second.cursor, second.consecutive_failures = None, 7
    second.flow_name = "not written"  # a field not named stays as stored
    rows_update([first, second], ["cursor", "primed", "last_polled_at", "consecutive_failures"])

    stored = {s.pk: s for s in PollState.objects.all()}
    assert stored[first.pk].cursor == {"page": 2, "after": "x"}
    assert (stored[first.pk].primed, stored[first.pk].last_polled_at) == (True, AT)
    assert stored[second.pk].cursor is None  # SQL NULL, as update(cursor=None) writes
    assert PollState.objects.filter(pk=second.pk, cursor__isnull=True).exists()
    assert stored[second.pk].consecutive_failures == 7
    assert stored[second.pk].flow_name == "Flow 1"
    assert (stored[third.pk].cursor, stored[third.pk].primed) == (2, False)


def test_nothing_to_write_sends_nothing(django_assert_num_queries):
    with django_assert_num_queries(0):
        rows_update([], ["cursor"])
